//! grpcurl's command line as Go's `flag` package reads it: `-flag value`, `-flag=value`,
//! `--flag`, bool flags that take no value, flags only before the first positional argument,
//! and the same messages for the same mistakes.

/// What a flag holds.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Text,
    Float,
    Int,
    /// Repeatable: each use adds a value.
    List,
}

/// grpcurl 1.9's flags (1.8's and those it added), with their kinds and one line of help.
const FLAGS: &[(&str, Kind, &str)] = &[
    (
        "H",
        Kind::List,
        "Additional headers in 'name: value' format, for calls and reflection.",
    ),
    (
        "allow-unknown-fields",
        Kind::Bool,
        "Ignore unknown fields in JSON request data.",
    ),
    (
        "alts",
        Kind::Bool,
        "Use Application Layer Transport Security (not supported by rpcsh).",
    ),
    (
        "alts-handshaker-service",
        Kind::Text,
        "The ALTS handshaker service (needs -alts).",
    ),
    (
        "alts-target-service-account",
        Kind::List,
        "An ALTS target service account (needs -alts).",
    ),
    (
        "authority",
        Kind::Text,
        "The :authority pseudo-header, and the TLS server name.",
    ),
    (
        "cacert",
        Kind::Text,
        "File of trusted root certificates for verifying the server.",
    ),
    (
        "cert",
        Kind::Text,
        "File of the client certificate to present (needs -key).",
    ),
    (
        "connect-timeout",
        Kind::Float,
        "Seconds to wait for the connection (default 10).",
    ),
    (
        "d",
        Kind::Text,
        "Request data; '@' reads it from stdin. Several messages for a stream.",
    ),
    (
        "emit-defaults",
        Kind::Bool,
        "Emit default values for JSON-encoded responses.",
    ),
    (
        "expand-headers",
        Kind::Bool,
        "Expand ${NAME} environment variables in header values.",
    ),
    (
        "format",
        Kind::Text,
        "The format of request data and responses: json or text (default \"json\").",
    ),
    (
        "format-error",
        Kind::Bool,
        "Format a non-OK status with -format, on stderr.",
    ),
    ("help", Kind::Bool, "Print usage instructions and exit."),
    (
        "import-path",
        Kind::List,
        "A directory proto sources import from (with -proto).",
    ),
    (
        "insecure",
        Kind::Bool,
        "Skip server certificate and domain verification. (NOT SECURE!)",
    ),
    (
        "keepalive-time",
        Kind::Float,
        "Seconds of idleness before a keepalive probe.",
    ),
    (
        "key",
        Kind::Text,
        "File of the client private key (needs -cert).",
    ),
    (
        "max-msg-sz",
        Kind::Int,
        "The largest response message accepted, in bytes (default 4194304).",
    ),
    (
        "max-time",
        Kind::Float,
        "The maximum total time the operation can take, in seconds.",
    ),
    (
        "msg-template",
        Kind::Bool,
        "When describing messages, show a template of input data.",
    ),
    ("plaintext", Kind::Bool, "Use plain-text HTTP/2 (no TLS)."),
    (
        "proto",
        Kind::List,
        "A proto source file to take the schema from instead of reflection.",
    ),
    (
        "proto-out-dir",
        Kind::Text,
        "Write the .proto sources of what is listed, described or invoked here.",
    ),
    (
        "protoset",
        Kind::List,
        "A FileDescriptorSet file to take the schema from instead of reflection.",
    ),
    (
        "protoset-out",
        Kind::Text,
        "Write a FileDescriptorSet of what is listed, described or invoked.",
    ),
    (
        "reflect-header",
        Kind::List,
        "Additional headers for reflection requests only.",
    ),
    (
        "rpc-header",
        Kind::List,
        "Additional headers for the call only.",
    ),
    (
        "servername",
        Kind::Text,
        "Override the server name when validating TLS certificates.",
    ),
    (
        "unix",
        Kind::Bool,
        "The address is the path to a Unix domain socket.",
    ),
    (
        "use-reflection",
        Kind::Bool,
        "Use server reflection (default true unless -proto or -protoset).",
    ),
    ("user-agent", Kind::Text, "Added to the User-Agent header."),
    ("v", Kind::Bool, "Enable verbose output."),
    ("version", Kind::Bool, "Print version."),
    ("vv", Kind::Bool, "Enable very verbose output."),
];

/// A parsed command line: every flag by name, and the positional arguments.
#[derive(Debug, Default)]
pub struct Flags {
    values: Vec<(&'static str, String)>,
    pub args: Vec<String>,
}

/// Why Go's `flag` package stops reading a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagError {
    /// `-h`: the usage, exit 0.
    Help,
    /// The line Go prints before the usage (exit 2).
    Bad(String),
}

impl Flags {
    /// Reads `args` (without the program name) as Go's `flag.Parse` does.
    pub fn parse(args: &[String]) -> Result<Flags, FlagError> {
        let mut flags = Flags::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg.len() < 2 || !arg.starts_with('-') {
                break;
            }
            let mut name = &arg[1..];
            if let Some(rest) = name.strip_prefix('-') {
                if rest.is_empty() {
                    // "--" ends the flags.
                    i += 1;
                    break;
                }
                name = rest;
            }
            if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
                return Err(FlagError::Bad(format!("bad flag syntax: {arg}")));
            }
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            let Some(&(known, kind, _)) = FLAGS.iter().find(|(n, ..)| *n == name) else {
                if name == "h" {
                    return Err(FlagError::Help);
                }
                return Err(FlagError::Bad(format!(
                    "flag provided but not defined: -{name}"
                )));
            };
            let value = match (kind, inline) {
                (Kind::Bool, Some(v)) => match parse_bool(&v) {
                    Some(b) => b.to_string(),
                    None => {
                        return Err(FlagError::Bad(format!(
                            "invalid boolean value {v:?} for -{name}: parse error"
                        )))
                    }
                },
                (Kind::Bool, None) => "true".into(),
                (_, Some(v)) => v,
                (_, None) => {
                    i += 1;
                    match args.get(i) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(FlagError::Bad(format!("flag needs an argument: -{name}")))
                        }
                    }
                }
            };
            let valid = match kind {
                Kind::Float => value.parse::<f64>().is_ok(),
                Kind::Int => parse_int(&value).is_some(),
                _ => true,
            };
            if !valid {
                return Err(FlagError::Bad(format!(
                    "invalid value {value:?} for flag -{name}: parse error"
                )));
            }
            if kind != Kind::List {
                flags.values.retain(|(n, _)| *n != known);
            }
            flags.values.push((known, value));
            i += 1;
        }
        flags.args = args[i..].to_vec();
        Ok(flags)
    }

    /// A bool flag (false when not given).
    pub fn on(&self, name: &str) -> bool {
        self.text(name) == Some("true")
    }

    /// Whether a flag was given at all.
    pub fn given(&self, name: &str) -> bool {
        self.text(name).is_some()
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable flag, in order.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        self.text(name).and_then(|v| v.parse().ok())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(parse_int)
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(v, 0, 64)`: decimal, or 0x, 0o, 0 and 0b prefixes; `_` between digits.
fn parse_int(v: &str) -> Option<i64> {
    let (negative, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b.to_string())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_string())
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') {
        return None;
    }
    let n = i128::from_str_radix(&body.replace('_', ""), radix).ok()?;
    i64::try_from(if negative { -n } else { n }).ok()
}

/// grpcurl's usage text before its flags, `{program}` standing for the program's name.
const USAGE: &str = "Usage:\n\t{program} [flags] [address] [list|describe] [symbol]\n\n\
         The 'address' is only optional when used with 'list' or 'describe' and a\n\
         protoset or proto flag is provided.\n\n\
         If 'list' is indicated, the symbol (if present) should be a fully-qualified\n\
         service name. If present, all methods of that service are listed. If not\n\
         present, all exposed services are listed, or all services defined in protosets.\n\n\
         If 'describe' is indicated, the descriptor for the given symbol is shown. The\n\
         symbol should be a fully-qualified service, enum, or message name. If no symbol\n\
         is given then the descriptors for all exposed or known services are shown.\n\n\
         If neither verb is present, the symbol must be a fully-qualified method name in\n\
         'service/method' or 'service.method' format. In this case, the request body will\n\
         be used to invoke the named method. If no body is given but one is required\n\
         (i.e. the method is unary or server-streaming), an empty instance of the\n\
         method's request type will be sent.\n\n\
         This is rpcsh's grpcurl: the same command lines, on rpcsh's engine (run it as\n\
         `rpcsh grpcurl ...`, or through a link named grpcurl).\n\n\
         Examples:\n\
         \t{program} -plaintext localhost:50051 list\n\
         \t{program} -plaintext localhost:50051 describe routeguide.RouteGuide\n\
         \t{program} -plaintext -d '{\"name\": \"x\"}' localhost:50051 helloworld.Greeter/SayHello\n\n\
         Available flags:\n";

/// The usage grpcurl prints for `-help` and after a mistake in its flags.
pub fn usage(program: &str) -> String {
    let mut text = USAGE.replace("{program}", program);
    for (name, kind, help) in FLAGS {
        let value = match kind {
            Kind::Bool => "",
            Kind::Text => " string",
            Kind::Float => " float",
            Kind::Int => " int",
            Kind::List => " value",
        };
        text.push_str(&format!("  -{name}{value}\n    \t{help}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Flags, FlagError> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        Flags::parse(&args)
    }

    #[test]
    fn go_flag_syntax() {
        let f =
            parse("-plaintext --d={} -H a:1 -H=b:2 -max-time 1.5 -v=false host:1 list -v").unwrap();
        assert!(f.on("plaintext"));
        assert_eq!(f.text("d"), Some("{}"));
        assert_eq!(f.list("H"), ["a:1", "b:2"]);
        assert_eq!(f.float("max-time"), Some(1.5));
        assert!(!f.on("v") && f.given("v"));
        // Flags stop at the first positional argument, as in Go.
        assert_eq!(f.args, ["host:1", "list", "-v"]);
        assert_eq!(parse("-- -v").unwrap().args, ["-v"]);
        assert_eq!(
            parse("-max-msg-sz 0x10").unwrap().int("max-msg-sz"),
            Some(16)
        );
    }

    #[test]
    fn go_flag_mistakes() {
        assert_eq!(
            parse("-nope").unwrap_err(),
            FlagError::Bad("flag provided but not defined: -nope".into())
        );
        assert_eq!(
            parse("-d").unwrap_err(),
            FlagError::Bad("flag needs an argument: -d".into())
        );
        assert_eq!(
            parse("-max-time soon").unwrap_err(),
            FlagError::Bad("invalid value \"soon\" for flag -max-time: parse error".into())
        );
        assert_eq!(
            parse("-plaintext=yes").unwrap_err(),
            FlagError::Bad("invalid boolean value \"yes\" for -plaintext: parse error".into())
        );
        assert_eq!(
            parse("---x").unwrap_err(),
            FlagError::Bad("bad flag syntax: ---x".into())
        );
        assert_eq!(parse("-h").unwrap_err(), FlagError::Help);
    }
}
