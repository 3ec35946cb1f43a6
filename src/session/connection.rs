//! The connection settings and the session they open: the address, TLS, headers and schema
//! files of one server, merged with its config file section, and what opening them yields (a
//! channel and a schema source). Every front end reaches servers through this; it knows nothing
//! of the commands that use it.
use crate::client::net::link::Link;
use crate::client::net::transport::{self, Target, TransportOptions};
use crate::client::net::web::{Codec, Protocol};
use crate::client::output::format::Verbose;
use crate::client::schema::{reflection::Reflection, Schema};
use crate::client::wire::invoke::Compression;
use crate::session::config::{Calls, Config, SchemaFiles, Server, Transport};
use crate::sys::error::Hint;
use crate::sys::util::DEFAULT_MAX_MESSAGE_SIZE;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tonic::metadata::{
    AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, MetadataMap,
};

/// The schema's sources besides reflection (`--proto`, `-I`, `--protoset`, `--schema-add`) and
/// how reflection is read (`--reflect-version`, `--max-schema-size`).
#[derive(Debug, Clone, Default)]
pub struct SchemaSettings {
    pub protos: Vec<PathBuf>,
    pub import_paths: Vec<PathBuf>,
    pub protoset: Option<PathBuf>,
    /// `--schema-add`: files beside the schema source.
    pub schema_add: Vec<PathBuf>,
    /// `--max-schema-size`: the budget of a reflected schema.
    pub max_schema_size: Option<usize>,
    pub reflect_version: crate::client::schema::reflection::ReflectVersion,
}

/// Everything needed to reach a server and learn its schema.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub addr: String,
    pub transport: TransportOptions,
    /// `-H`: sent with calls and reflection requests.
    pub headers: Vec<String>,
    /// `--reflect-header`: sent with reflection requests only.
    pub reflect_headers: Vec<String>,
    /// `--rpc-header`: sent with calls only.
    pub rpc_headers: Vec<String>,
    /// `-u USER:PASSWORD`, or `--netrc`'s entry: HTTP Basic authorization of calls and
    /// reflection.
    pub credentials: Option<crate::session::credentials::Credentials>,
    /// `--header-command`, or the config's `header-command`: a program whose output adds
    /// headers.
    pub header_command: Option<String>,
    /// Where the schema comes from, and how much of it is read.
    pub schema: SchemaSettings,
    pub max_message_size: Option<usize>,
    /// `--compress`: the encoding of request messages.
    pub compress: Option<Compression>,
    /// `--protocol`: gRPC when not given.
    pub protocol: Option<Protocol>,
    /// `--http2`: Connect and gRPC-Web over prior-knowledge h2c.
    pub http2: bool,
    /// `--codec`: how Connect and gRPC-Web messages are encoded.
    pub codec: Option<Codec>,
    pub verbose: Option<Verbose>,
    /// The config file, whose server sections `resolved` applies.
    pub config: std::sync::Arc<Config>,
}

/// A session: the link calls take (when one was needed) and the schema source.
pub struct Session {
    pub link: Option<Link>,
    pub schema: Schema,
    pub metadata: MetadataMap,
    pub connected: Duration,
    /// Whether the channel is TLS.
    pub tls: bool,
}

impl Session {
    /// The link calls take: a session opened for a local schema alone has none.
    pub fn link(&self) -> anyhow::Result<Link> {
        self.link
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no connection: this session reads a local schema only"))
    }
}

impl Connection {
    /// Reads local schema files first (a bad proto is reported before any connection), then
    /// connects when a call needs it or the schema comes from reflection.
    pub async fn open(&self, for_call: bool) -> anyhow::Result<Session> {
        self.resolved().open_resolved(for_call).await
    }

    /// The server's own schema, through its reflection, whatever files are given (`check`
    /// compares the two).
    pub async fn open_reflection(&self) -> anyhow::Result<Session> {
        let mut conn = self.resolved();
        conn.schema.protos.clear();
        conn.schema.protoset = None;
        conn.open_resolved(false).await
    }

    async fn open_resolved(&self, for_call: bool) -> anyhow::Result<Session> {
        let started = Instant::now();
        let target = Target::parse(&self.addr, &self.transport)?;
        if !target.prefix.is_empty() && self.protocol.unwrap_or_default() == Protocol::Grpc {
            bail!(Hint::new(
                format!("the address names a path ({}), which gRPC calls cannot take", target.prefix),
                "a path prefix is for Connect and gRPC-Web: add --protocol connect or --protocol grpc-web",
            ));
        }
        let (metadata, reflect_metadata) = self.metadata(&target)?;
        let (local, supplement) = self.local_schema()?;
        let local = match local {
            Some(schema) if !for_call => {
                return Ok(Session {
                    link: None,
                    schema,
                    metadata,
                    connected: Duration::ZERO,
                    tls: target.tls,
                })
            }
            other => other,
        };
        let protocol = self.protocol.unwrap_or_default();
        let (link, channel) = self.connect(&target, for_call, local.is_some()).await?;
        let connected = started.elapsed();
        if let Some(v) = &self.verbose {
            let mode = if target.tls { "TLS" } else { "plaintext" };
            let through = match self.transport.proxy_for(&target)? {
                Some(proxy) => format!(" through proxy {}", proxy.shown),
                None => String::new(),
            };
            v.line(format_args!(
                "Connected to {} ({mode}){through} in {:.1?}",
                self.addr, connected
            ));
            if let Some(Link::Web(client)) = &link {
                v.line(format_args!("Protocol: {}", client.describe()));
            }
        }
        let schema = match (local, channel) {
            (Some(schema), _) => schema,
            (None, Some(channel)) => {
                supplement(self.reflection(channel, reflect_metadata, &target, protocol))
            }
            (None, None) => bail!("no channel to ask the server's reflection on"),
        };
        Ok(Session {
            link,
            schema,
            metadata,
            connected,
            tls: target.tls,
        })
    }

    /// The headers of calls (-H, credentials, --rpc-header) and of reflection (-H,
    /// credentials, --reflect-header).
    fn metadata(&self, target: &Target) -> anyhow::Result<(MetadataMap, MetadataMap)> {
        let mut metadata = parse_headers(&self.header_lines()?)?;
        if let Some(line) = self
            .credentials
            .as_ref()
            .and_then(|c| c.header(target.host()))
        {
            metadata
                .as_mut()
                .extend(parse_headers(&[line?])?.into_headers());
        }
        let mut reflect_metadata = metadata.clone();
        for (k, v) in parse_headers(&self.reflect_headers)?.into_headers().iter() {
            reflect_metadata.as_mut().append(k.clone(), v.clone());
        }
        for (k, v) in parse_headers(&self.rpc_headers)?.into_headers().iter() {
            metadata.as_mut().append(k.clone(), v.clone());
        }
        Ok((metadata, reflect_metadata))
    }

    /// The schema files given, read before anything connects (a bad one is said first): the
    /// local schema of --proto or --protoset, with --schema-add's files beside it; without one,
    /// what adds --schema-add's files to the schema reflection will give.
    #[allow(clippy::type_complexity)]
    fn local_schema(
        &self,
    ) -> anyhow::Result<(Option<Schema>, Box<dyn FnOnce(Schema) -> Schema + Send>)> {
        let local = if !self.schema.protos.is_empty() {
            Some(Schema::from_protos(
                &self.schema.protos,
                &self.schema.import_paths,
            )?)
        } else if let Some(set) = &self.schema.protoset {
            Some(Schema::from_protoset(set)?)
        } else {
            None
        };
        let supplement = match self.schema.schema_add.as_slice() {
            [] => None,
            paths => Some(crate::client::schema::supplement::read(
                paths,
                &self.schema.import_paths,
            )?),
        };
        if let (Some(v), Some(schema)) = (&self.verbose, &local) {
            for note in schema.notes() {
                v.line(note);
            }
        }
        Ok(match (local, supplement) {
            (Some(schema), Some(files)) => (Some(schema.with_supplement(files)), Box::new(|s| s)),
            (local, Some(files)) => (local, Box::new(move |s: Schema| s.with_supplement(files))),
            (local, None) => (local, Box::new(|s| s)),
        })
    }

    /// The link calls take (when one is needed) and the gRPC channel reflection is asked on
    /// (when the schema comes from it).
    async fn connect(
        &self,
        target: &Target,
        for_call: bool,
        local: bool,
    ) -> anyhow::Result<(Option<Link>, Option<tonic::transport::Channel>)> {
        Ok(match self.protocol.unwrap_or_default() {
            Protocol::Grpc => {
                let link = self.link(target).await?;
                let channel = match &link {
                    Link::Grpc(channel) => Some(channel.clone()),
                    Link::Web(_) => None,
                };
                (Some(link), channel)
            }
            // Listing and describing need only reflection.
            _ if !for_call => (
                None,
                Some(transport::connect(target, &self.transport).await?),
            ),
            // Reflection is a gRPC service: asked over HTTP/2 on a channel of its own, opened
            // in the same round trips as the calls' connection.
            _ if local => {
                transport::warn_insecure(target, &self.transport);
                (Some(self.link(target).await?), None)
            }
            _ => {
                let grpc = transport::connect(target, &self.transport);
                let (link, channel) = tokio::try_join!(self.link(target), grpc)?;
                (Some(link), Some(channel))
            }
        })
    }

    /// The schema source of server reflection on `channel`.
    fn reflection(
        &self,
        channel: tonic::transport::Channel,
        headers: MetadataMap,
        target: &Target,
        protocol: Protocol,
    ) -> Schema {
        let limit = self.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
        let budget = self
            .schema
            .max_schema_size
            .unwrap_or(crate::sys::util::DEFAULT_MAX_SCHEMA_SIZE);
        let reflection = Reflection::new(channel, headers, limit, target.tls)
            .for_protocol(protocol)
            .with_version(self.schema.reflect_version)
            .with_budget(budget);
        Schema::from_reflection(reflection).remembering(&self.addr)
    }
}

impl Connection {
    /// A new connection for calls to `target` (this connection's, resolved), in its protocol.
    pub async fn link(&self, target: &Target) -> anyhow::Result<Link> {
        let codec = self.codec.unwrap_or_default();
        Ok(match self.protocol.unwrap_or_default() {
            Protocol::Grpc if codec != Codec::Proto => bail!(Hint::new(
                "--codec json is for the Connect and gRPC-Web protocols",
                "add --protocol connect or --protocol grpc-web",
            )),
            Protocol::Grpc => Link::Grpc(transport::connect(target, &self.transport).await?),
            protocol => Link::Web(std::sync::Arc::new(
                crate::client::net::web::Client::connect(
                    target,
                    &self.transport,
                    protocol,
                    codec,
                    self.http2,
                )
                .await?,
            )),
        })
    }
}

/// Parses `-H 'name: value'` headers; `-bin` names take base64 values.
pub fn parse_headers(headers: &[String]) -> anyhow::Result<MetadataMap> {
    use base64::Engine;
    let mut map = MetadataMap::new();
    for h in &header_lines(headers)? {
        let Some((name, value)) = h.split_once(':') else {
            bail!(Hint::new(
                format!("invalid header {h:?}"),
                "write it as 'name: value'"
            ));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name.ends_with("-bin") {
            let key = BinaryMetadataKey::from_bytes(name.as_bytes())
                .with_context(|| format!("invalid header name {name:?}"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(value))
                .map_err(|e| {
                    Hint::new(
                        format!("header {name} is not base64: {e}"),
                        "values of -bin headers are base64",
                    )
                })?;
            map.append_bin(key, BinaryMetadataValue::from_bytes(&bytes));
        } else {
            let key = AsciiMetadataKey::from_bytes(name.as_bytes())
                .with_context(|| format!("invalid header name {name:?}"))?;
            // http accepts bytes over 0x7f, but gRPC text values are printable ASCII, and
            // peers drop (grpc-js) or refuse others. The value may be a secret: never print it.
            if !value.chars().all(|c| (' '..='~').contains(&c)) {
                bail!(Hint::new(
                    format!("the value of header {name} is not printable ASCII"),
                    format!("gRPC text headers hold printable ASCII only; a header named {name}-bin carries any bytes, given in base64"),
                ));
            }
            let value = AsciiMetadataValue::try_from(value)
                .with_context(|| format!("invalid value for header {name}"))?;
            map.append(key, value);
        }
    }
    Ok(map)
}

/// The header lines `headers` stand for: `@FILE` is the file's lines (`name: value` each; blank
/// lines and `#` comments skipped), and `${env:VAR}` in a value is the variable's value — so
/// that secrets stay out of the command line, `ps` and the shell's history.
fn header_lines(headers: &[String]) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for h in headers {
        match h.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the headers file {path}"))?;
                lines.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from),
                );
            }
            None => lines.push(h.clone()),
        }
    }
    lines
        .into_iter()
        .map(|line| {
            let name = line
                .split_once(':')
                .map_or(line.as_str(), |(n, _)| n.trim());
            super::vars::substitute(&line, &Default::default())
                .map_err(|e| anyhow::anyhow!("header {name}: {e}"))
        })
        .collect()
}

/// Runs `--header-command` (through `sh -c`) once per process, and keeps its `name: value`
/// lines: short-lived tokens from gcloud, vault or a credential helper, as kubectl's exec
/// credentials and git's credential helpers work.
fn command_headers(command: &str) -> anyhow::Result<Vec<String>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Outputs = HashMap<String, Result<Vec<String>, String>>;
    static RAN: OnceLock<Mutex<Outputs>> = OnceLock::new();
    let mut ran = RAN.get_or_init(Default::default).lock().unwrap();
    let result = ran.entry(command.to_string()).or_insert_with(|| {
        let output = std::process::Command::new("sh")
            .args(["-c", command])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the header command: {e}"))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            let said = said.lines().next().unwrap_or_default();
            return Err(format!(
                "the header command failed ({}){}",
                output.status,
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::sys::style::printable(said))
                }
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect())
    });
    result.clone().map_err(anyhow::Error::msg)
}

impl Connection {
    /// The headers of calls and reflection: `-H` (and the config's), then those the header
    /// command prints.
    pub fn header_lines(&self) -> anyhow::Result<Vec<String>> {
        let mut lines = self.headers.clone();
        if let Some(command) = &self.header_command {
            lines.extend(command_headers(command)?);
        }
        Ok(lines)
    }

    /// This connection with its address resolved through the config file and the matching
    /// section's settings filled in where no flag set them.
    pub fn resolved(&self) -> Connection {
        let mut conn = self.clone();
        let (addr, server) = self.config.server(&self.addr);
        conn.addr = addr.to_string();
        if let Some(server) = server {
            fill(&mut conn, server);
        }
        conn
    }

    /// What `rpcsh config show` prints for this connection (see `Config::effective`).
    pub fn effective_config(&self) -> String {
        let resolved = self.resolved();
        self.config
            .effective(&self.addr, &resolved.addr, settings(&resolved))
    }
}

/// Fills what the flags left unset in `conn` (whose address is already the real one) from its
/// config file section.
fn fill(conn: &mut Connection, server: &Server) {
    let t = &mut conn.transport;
    if !t.plaintext && !t.tls {
        t.plaintext = server.transport.plaintext;
        t.tls = server.transport.tls;
    }
    t.insecure |= server.transport.insecure;
    for (mine, theirs) in [
        (&mut t.cacert, &server.transport.cacert),
        (&mut t.cert, &server.transport.cert),
        (&mut t.key, &server.transport.key),
    ] {
        if mine.is_none() {
            mine.clone_from(theirs);
        }
    }
    if t.authority.is_none() {
        t.authority.clone_from(&server.transport.authority);
    }
    if t.user_agent.is_none() {
        t.user_agent.clone_from(&server.transport.user_agent);
    }
    if conn.header_command.is_none() {
        conn.header_command.clone_from(&server.calls.header_command);
    }
    if let (crate::client::net::connect_proxy::Setting::Environment, Some(proxy)) =
        (&t.proxy, &server.transport.proxy)
    {
        t.proxy = crate::client::net::connect_proxy::Setting::parse(proxy);
    }
    for (mine, theirs) in [
        (&mut conn.headers, &server.calls.headers),
        (&mut conn.reflect_headers, &server.calls.reflect_headers),
    ] {
        // A header given with -H replaces the file's of the same name.
        let given: Vec<String> = mine
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(n, _)| n.trim().to_ascii_lowercase())
            .collect();
        let from_file = theirs
            .iter()
            .filter(|(n, _)| !given.contains(&n.to_ascii_lowercase()))
            .map(|(n, v)| format!("{n}: {v}"));
        *mine = from_file.chain(mine.drain(..)).collect();
    }
    if conn.schema.protos.is_empty() && conn.schema.protoset.is_none() {
        conn.schema.protos.clone_from(&server.schema.protos);
        conn.schema.protoset.clone_from(&server.schema.protoset);
    }
    if conn.schema.schema_add.is_empty() {
        conn.schema.schema_add.clone_from(&server.schema.schema_add);
    }
    if conn.schema.import_paths.is_empty() {
        conn.schema
            .import_paths
            .clone_from(&server.schema.import_paths);
    }
    if conn.max_message_size.is_none() {
        conn.max_message_size = server.calls.max_msg_size;
    }
    if conn.schema.max_schema_size.is_none() {
        conn.schema.max_schema_size = server.schema.max_schema_size;
    }
    if conn.compress.is_none() {
        conn.compress = server.calls.compress;
    }
    if conn.protocol.is_none() {
        conn.protocol = server.calls.protocol;
    }
    conn.http2 |= server.transport.http2;
    if conn.codec.is_none() {
        conn.codec = server.calls.codec;
    }
}

/// A connection's settings in the file's terms.
fn settings(conn: &Connection) -> Server {
    let map = |headers: &[String]| {
        headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect()
    };
    let t = &conn.transport;
    Server {
        address: None,
        calls: Calls {
            headers: map(&conn.headers),
            reflect_headers: map(&conn.reflect_headers),
            header_command: conn.header_command.clone(),
            max_msg_size: conn.max_message_size,
            timeout: None,
            compress: conn.compress,
            protocol: conn.protocol,
            codec: conn.codec,
        },
        transport: Transport {
            plaintext: t.plaintext,
            tls: t.tls,
            insecure: t.insecure,
            cacert: t.cacert.clone(),
            cert: t.cert.clone(),
            key: t.key.clone(),
            authority: t.authority.clone(),
            user_agent: t.user_agent.clone(),
            proxy: match &t.proxy {
                crate::client::net::connect_proxy::Setting::Environment => None,
                crate::client::net::connect_proxy::Setting::Off => Some("none".into()),
                crate::client::net::connect_proxy::Setting::Url(url) => {
                    Some(crate::client::net::connect_proxy::redact(url))
                }
            },
            http2: conn.http2,
        },
        schema: SchemaFiles {
            protos: conn.schema.protos.clone(),
            import_paths: conn.schema.import_paths.clone(),
            protoset: conn.schema.protoset.clone(),
            schema_add: conn.schema.schema_add.clone(),
            max_schema_size: conn.schema.max_schema_size,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn flags_beat_the_config_section() {
        let sample = "[servers.prod]\naddress = \"grpc.example.com:443\"\n\
            headers = { authorization = \"Bearer s3cret\", x-team = \"core\" }\n\
            cacert = \"ca.pem\"\n";
        let config = std::sync::Arc::new(Config::parse(sample).unwrap());
        let conn = Connection {
            addr: "prod".into(),
            headers: vec!["Authorization: Bearer flag".into()],
            config,
            ..Connection::default()
        };
        let r = conn.resolved();
        assert_eq!(r.addr, "grpc.example.com:443");
        assert_eq!(r.headers, ["x-team: core", "Authorization: Bearer flag"]);
        assert_eq!(r.transport.cacert.as_deref(), Some(Path::new("ca.pem")));
    }

    #[test]
    fn the_protocol_comes_from_the_section_unless_a_flag_says() {
        let sample = "[servers.web]\naddress = \"localhost:8080\"\n\
            protocol = \"grpc-web\"\nhttp2 = true\ncodec = \"json\"\n";
        let config = std::sync::Arc::new(Config::parse(sample).unwrap());
        let conn = Connection {
            addr: "web".into(),
            config: config.clone(),
            ..Connection::default()
        };
        let r = conn.resolved();
        assert_eq!(r.protocol, Some(Protocol::GrpcWeb));
        assert!(r.http2);
        assert_eq!(r.codec, Some(Codec::Json));
        let conn = Connection {
            addr: "web".into(),
            protocol: Some(Protocol::Connect),
            config,
            ..Connection::default()
        };
        assert_eq!(conn.resolved().protocol, Some(Protocol::Connect));
        assert!(Config::parse("[servers.x]\nprotocol = \"grpcweb\"\n").is_ok());
        assert!(Config::parse("[servers.x]\nprotocol = \"soap\"\n").is_err());
    }
}
