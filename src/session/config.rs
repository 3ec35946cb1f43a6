//! The config file, `$XDG_CONFIG_HOME/rpcsh/config.toml` (or `$RPCSH_CONFIG`): defaults of the
//! client commands and per-server sections, found by alias or by address. Flags beat the
//! environment, the environment beats the file, the file beats the built-in defaults. The whole
//! file is parsed before anything runs: a mistake stops the program with its line and column.
#![warn(missing_docs)]
use crate::client::net::web::{Codec, Protocol};
use crate::client::output::format::Format;
use crate::client::wire::invoke::Compression;
use crate::sys::error::Hint;
use crate::sys::style::ColorChoice;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address used when neither a flag, `RPCSH_ADDR` nor the file names one.
pub const DEFAULT_ADDRESS: &str = "localhost:50051";

/// The parsed config file; empty when there is none.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Where it was read from (not a key of the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// Default server address or alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Default output format of `call`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Default call deadline.
    #[serde(default, with = "duration", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Colours: auto, always or never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<ColorChoice>,
    /// Per-server settings, keyed by alias or by address.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, Server>,
}

/// A config file that does not read: where (line and column), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line and column (from 1) where the file goes wrong, where the parser says.
    pub at: Option<(usize, usize)>,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, col)) = self.at {
            write!(f, "line {line}, column {col}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A `[servers.NAME]` section: what `rpcsh connect NAME` (or `--addr NAME`) uses. The file
/// spells it as one flat table; here its keys are grouped by what they set. It is read by hand
/// (`ServerVisitor`): serde's `flatten` cannot go with `deny_unknown_fields`, and would lose a
/// wrong value's line and column.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Server {
    /// The real address; the section's name when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// What goes with each call.
    #[serde(flatten)]
    pub calls: Calls,
    /// How the connection is made.
    #[serde(flatten)]
    pub transport: Transport,
    /// Where the schema comes from when not from reflection alone.
    #[serde(flatten)]
    pub schema: SchemaFiles,
}

/// A section's settings of each call.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Calls {
    /// Headers sent with every call and reflection request.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers sent with reflection requests only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reflect_headers: BTreeMap<String, String>,
    /// As `--header-command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_command: Option<String>,
    /// As `--max-msg-size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<usize>,
    /// Default call deadline for this server.
    #[serde(with = "duration", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// As `--compress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress: Option<Compression>,
    /// As `--protocol`: grpc, grpc-web or connect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// As `--codec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<Codec>,
}

/// A section's settings of the connection.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Transport {
    /// As `--plaintext`.
    #[serde(skip_serializing_if = "is_false")]
    pub plaintext: bool,
    /// As `--tls`.
    #[serde(skip_serializing_if = "is_false")]
    pub tls: bool,
    /// As `--insecure`.
    #[serde(skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// As `--cacert`; relative to the file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cacert: Option<PathBuf>,
    /// As `--cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// As `--key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// As `--authority`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// As `--user-agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// As `--proxy`: an http:// URL, or "none".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// As `--http2`.
    #[serde(skip_serializing_if = "is_false")]
    pub http2: bool,
}

/// A section's schema files.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SchemaFiles {
    /// As `--proto`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protos: Vec<PathBuf>,
    /// As `--import-path`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub import_paths: Vec<PathBuf>,
    /// As `--protoset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protoset: Option<PathBuf>,
    /// As `--schema-add`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_add: Vec<PathBuf>,
    /// As `--max-schema-size`, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_schema_size: Option<usize>,
}

/// The keys of a `[servers.NAME]` table; any other is an unknown field (at its line and column).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "kebab-case")]
enum Field {
    Address,
    Headers,
    ReflectHeaders,
    HeaderCommand,
    MaxMsgSize,
    Timeout,
    Compress,
    Protocol,
    Codec,
    Plaintext,
    Tls,
    Insecure,
    Cacert,
    Cert,
    Key,
    Authority,
    UserAgent,
    Proxy,
    Http2,
    Protos,
    ImportPaths,
    Protoset,
    SchemaAdd,
    MaxSchemaSize,
}

/// A duration as the file writes it (`duration`), read as a value of its own.
struct DurationText(Option<Duration>);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration::deserialize(d).map(DurationText)
    }
}

impl<'de> Deserialize<'de> for Server {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ServerVisitor)
    }
}

struct ServerVisitor;

impl<'de> serde::de::Visitor<'de> for ServerVisitor {
    type Value = Server;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a [servers.NAME] table")
    }

    // Each value is read where it stands, so a wrong one keeps its line and column.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Server, A::Error> {
        let mut s = Server::default();
        let (c, l, f) = (&mut s.calls, &mut s.transport, &mut s.schema);
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Address => s.address = map.next_value()?,
                Field::Headers => c.headers = map.next_value()?,
                Field::ReflectHeaders => c.reflect_headers = map.next_value()?,
                Field::HeaderCommand => c.header_command = map.next_value()?,
                Field::MaxMsgSize => c.max_msg_size = map.next_value()?,
                Field::Timeout => c.timeout = map.next_value::<DurationText>()?.0,
                Field::Compress => c.compress = map.next_value()?,
                Field::Protocol => c.protocol = map.next_value()?,
                Field::Codec => c.codec = map.next_value()?,
                Field::Plaintext => l.plaintext = map.next_value()?,
                Field::Tls => l.tls = map.next_value()?,
                Field::Insecure => l.insecure = map.next_value()?,
                Field::Cacert => l.cacert = map.next_value()?,
                Field::Cert => l.cert = map.next_value()?,
                Field::Key => l.key = map.next_value()?,
                Field::Authority => l.authority = map.next_value()?,
                Field::UserAgent => l.user_agent = map.next_value()?,
                Field::Proxy => l.proxy = map.next_value()?,
                Field::Http2 => l.http2 = map.next_value()?,
                Field::Protos => f.protos = map.next_value()?,
                Field::ImportPaths => f.import_paths = map.next_value()?,
                Field::Protoset => f.protoset = map.next_value()?,
                Field::SchemaAdd => f.schema_add = map.next_value()?,
                Field::MaxSchemaSize => f.max_schema_size = map.next_value()?,
            }
        }
        Ok(s)
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Durations are written as in the flags: "500ms", "10s", "1m30s".
mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        crate::sys::util::parse_duration(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

impl Config {
    /// Where the file is looked for: `$RPCSH_CONFIG`, else `$XDG_CONFIG_HOME/rpcsh/config.toml`,
    /// else `~/.config/rpcsh/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("RPCSH_CONFIG") {
            return Some(PathBuf::from(p));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("rpcsh").join("config.toml"))
    }

    /// Reads the file at the default path; no file is an empty config.
    pub fn load() -> anyhow::Result<Config> {
        match Self::default_path() {
            Some(path) if path.exists() => Self::read(&path),
            _ => Ok(Config::default()),
        }
    }

    /// Reads and checks one file. Relative paths in it are taken from the file's folder.
    pub fn read(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        let mut config = Self::parse(&text).map_err(|e| {
            Hint::new(
                format!("config file {}: {e}", path.display()),
                "fix the file, or point RPCSH_CONFIG at another",
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for server in config.servers.values_mut() {
            server.anchor(dir);
        }
        config.path = Some(path.to_path_buf());
        config.warn_if_exposed(path);
        Ok(config)
    }

    /// Warns (as ssh does for keys) when the file holds secret headers and others may read it.
    /// Never an error, and never the value.
    fn warn_if_exposed(&self, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        let secret = self.servers.iter().find_map(|(name, s)| {
            s.calls
                .headers
                .keys()
                .chain(s.calls.reflect_headers.keys())
                .find(|h| crate::client::output::format::is_secret(h))
                .map(|h| format!("the {h} header of [servers.{name}]"))
        });
        if let Some(secret) = secret {
            eprintln!(
                "{} config file {} holds a secret ({secret}) and others can read it (mode {mode:o})",
                crate::sys::style::paint(crate::sys::style::stderr(), crate::sys::style::WARNING, "rpcsh: warning:"),
                path.display()
            );
            eprintln!(
                "  {} chmod 600 {}",
                crate::sys::style::paint(
                    crate::sys::style::stderr(),
                    crate::sys::style::HINT,
                    "hint:"
                ),
                path.display()
            );
        }
    }

    /// Parses config text; the error says `line L, column C` and what is wrong there.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError {
            at: e
                .span()
                .map(|span| crate::client::input::line_col(text, span.start)),
            message: e.message().trim_end().to_string(),
        })
    }

    /// The section an address or alias selects, and the real address: an alias's section gives
    /// its `address` (or its name); a section named by the address itself, or whose `address`
    /// it is, applies too.
    pub fn server<'a>(&'a self, addr: &'a str) -> (&'a str, Option<&'a Server>) {
        if let Some(s) = self.servers.get(addr) {
            return (s.address.as_deref().unwrap_or(addr), Some(s));
        }
        let by_address = self
            .servers
            .values()
            .find(|s| s.address.as_deref() == Some(addr));
        (addr, by_address)
    }

    /// The default deadline of calls to `addr`: its section's, else the file's.
    pub fn timeout_for(&self, addr: &str) -> Option<Duration> {
        self.server(addr)
            .1
            .and_then(|s| s.calls.timeout)
            .or(self.timeout)
    }

    /// The file's settings as TOML, with secret header values redacted.
    pub fn show(&self) -> String {
        let mut shown = self.clone();
        shown.servers.values_mut().for_each(Server::redact);
        toml::to_string_pretty(&shown).unwrap_or_default()
    }

    /// What `rpcsh config show` prints: where the file is, the settings in effect for the server
    /// `asked` for (flags, environment and file merged into `server`, its real address
    /// `address`; secrets redacted), then the file itself.
    pub fn effective(&self, asked: &str, address: &str, mut server: Server) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "kebab-case")]
        struct Effective<'a> {
            address: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            format: Option<Format>,
            #[serde(with = "duration", skip_serializing_if = "Option::is_none")]
            timeout: Option<Duration>,
            color: ColorChoice,
            #[serde(flatten)]
            server: Server,
        }
        server.redact();
        let effective = Effective {
            address,
            format: self.format,
            timeout: self.timeout_for(asked),
            color: crate::sys::style::choice(),
            server,
        };
        let file = match &self.path {
            Some(p) => p.display().to_string(),
            None => match Self::default_path() {
                Some(p) => format!("{} (not found)", p.display()),
                None => "none (neither XDG_CONFIG_HOME nor HOME is set)".into(),
            },
        };
        let mut text = format!("# config file: {file}\n# in effect for {asked}:\n");
        text.push_str(&toml::to_string_pretty(&effective).unwrap_or_default());
        let own = self.show();
        if !own.is_empty() {
            text.push_str("\n# the file:\n");
            text.push_str(&own);
        }
        text
    }
}

impl Server {
    /// Hides the values of secret headers.
    pub fn redact(&mut self) {
        for headers in [&mut self.calls.headers, &mut self.calls.reflect_headers] {
            for (name, value) in headers.iter_mut() {
                if crate::client::output::format::is_secret(name) {
                    *value = "<redacted>".into();
                }
            }
        }
    }

    fn anchor(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        let (transport, files) = (&mut self.transport, &mut self.schema);
        transport
            .cacert
            .iter_mut()
            .chain(&mut transport.cert)
            .chain(&mut transport.key)
            .for_each(fix);
        files.protoset.iter_mut().for_each(fix);
        files
            .protos
            .iter_mut()
            .chain(&mut files.import_paths)
            .chain(&mut files.schema_add)
            .for_each(fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
address = "prod"
format = "jsonl"
timeout = "5s"

[servers.prod]
address = "grpc.example.com:443"
headers = { authorization = "Bearer s3cret", x-team = "core" }
cacert = "ca.pem"
timeout = "2s"

[servers."localhost:50051"]
plaintext = true
protos = ["/abs/api.proto"]
"#;

    #[test]
    fn alias_and_address_sections() {
        let c = Config::parse(SAMPLE).unwrap();
        let (addr, s) = c.server("prod");
        assert_eq!(addr, "grpc.example.com:443");
        assert_eq!(
            s.unwrap().transport.cacert.as_deref(),
            Some(Path::new("ca.pem"))
        );
        // The alias's address selects the same section.
        assert_eq!(c.server("grpc.example.com:443").1, s);
        assert!(c.server("localhost:50051").1.unwrap().transport.plaintext);
        assert!(c.server("elsewhere:1").1.is_none());
        assert_eq!(c.timeout_for("prod"), Some(Duration::from_secs(2)));
        assert_eq!(c.timeout_for("elsewhere:1"), Some(Duration::from_secs(5)));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = Config::parse("address = \"a\"\n\n[servers.x]\nplaintxt = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 4, column 1: unknown field `plaintxt`"),
            "{e}"
        );
        let e = Config::parse("timeout = \"soon\"").unwrap_err().to_string();
        assert!(e.starts_with("line 1, column 11:"), "{e}");
        let e = Config::parse("address = ").unwrap_err().to_string();
        assert!(e.starts_with("line 1, column"), "{e}");
    }

    #[test]
    fn show_redacts_secrets() {
        let shown = Config::parse(SAMPLE).unwrap().show();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("core"),
            "{shown}"
        );
    }
}
