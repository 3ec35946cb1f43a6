//! `rpcsh ui`: the shell's engine in a browser. A page served from the binary (its files
//! embedded) lists the server's services, describes them, builds a request form from a
//! message's fields, and runs calls through a WebSocket on which every line goes to an engine of
//! its own, as the REPL's lines do. A page that can call your servers is an attack surface: it
//! listens on loopback unless told otherwise, every request carries the run's random token, the
//! `Host` must be the address it listens on (DNS rebinding) and the `Origin` of the WebSocket and
//! of state-changing requests the page's own (CSRF).
mod api;
mod history;
mod scripts;
mod socket;

use crate::session::connection::Connection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// How `rpcsh ui` is served.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// Where to listen: loopback, port 0 (a free one) by default.
    pub listen: String,
    /// Listen on an address that is not loopback.
    pub allow_remote: bool,
    /// Print the address and open no browser.
    pub no_browser: bool,
    /// No server was named: the page asks for one first.
    pub ask_address: bool,
}

/// What every request of one run shares.
struct Ui {
    token: String,
    /// The `Host` values requests may carry: the address listened on, and `localhost:PORT`.
    hosts: Vec<String>,
    api: api::Api,
    /// The history file (none without a home), written one call at a time.
    history: Option<std::path::PathBuf>,
    history_lock: tokio::sync::Mutex<()>,
    ask_address: bool,
}

const COOKIE: &str = "rpcsh_ui";

/// Serves the page until Ctrl-C.
pub async fn run(conn: Connection, options: UiOptions) -> anyhow::Result<()> {
    let listen: SocketAddr = options
        .listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--listen {:?}: {e} (HOST:PORT)", options.listen))?;
    if !listen.ip().is_loopback() && !options.allow_remote {
        anyhow::bail!(crate::sys::error::Hint::new(
            format!("--listen {listen} is not a loopback address: anyone who reaches it could call your servers"),
            "add --allow-remote if that is what you want",
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    let token = token();
    let ui = Arc::new(Ui {
        api: api::Api::new(conn),
        token: token.clone(),
        hosts: vec![bound.to_string(), format!("localhost:{}", bound.port())],
        ask_address: options.ask_address,
        history: history::file(),
        history_lock: tokio::sync::Mutex::new(()),
    });
    let url = format!("http://{bound}/?token={token}");
    println!("ui on {url}");
    if !options.no_browser {
        open_browser(&url);
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Not a graceful shutdown: an open page's WebSocket would hold it for ever. Its engine's
    // calls end with the process, as the shell's do.
    tokio::select! {
        served = axum::serve(listener, router(ui)) => served?,
        _ = crate::sys::signals::interrupted(true) => {}
    }
    Ok(())
}

fn router(ui: Arc<Ui>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| asset("text/javascript", include_str!("page/app.js"))),
        )
        .route(
            "/app.css",
            get(|| asset("text/css", include_str!("page/app.css"))),
        )
        .route("/api/services", get(api::services))
        .route("/api/methods", get(api::methods))
        .route("/api/describe", get(api::describe))
        .route("/api/message", get(api::message))
        .route("/api/encode", axum::routing::post(api::encode))
        .route("/api/connect", axum::routing::post(api::connect))
        .route("/api/history", get(history::list).post(history::add))
        .route("/api/steps", get(scripts::steps))
        .route("/ws", get(socket::upgrade))
        .layer(axum::middleware::from_fn_with_state(ui.clone(), guard))
        .with_state(ui)
}

/// The refusals every request goes through: a `Host` that is not the address listened on, a
/// request without the run's token (from the URL printed, kept as a cookie), and a WebSocket or
/// state-changing request from a page of another origin.
async fn guard(
    State(ui): State<Arc<Ui>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !ui.hosts.iter().any(|h| h == host) {
        return refuse("this address is not the one rpcsh ui listens on");
    }
    let upgrade = headers.contains_key(header::UPGRADE);
    if upgrade || request.method() != Method::GET {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if origin != format!("http://{host}") {
            return refuse("a page of another origin may not use rpcsh ui");
        }
    }
    if request.uri().path() == "/" {
        if let Some(given) = token_in(request.uri().query()) {
            if given == ui.token {
                // The token leaves the address bar; the cookie carries it from now on.
                return (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, "/".to_string()),
                        (
                            header::SET_COOKIE,
                            format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", ui.token),
                        ),
                    ],
                )
                    .into_response();
            }
        }
    }
    if cookie(headers).as_deref() != Some(ui.token.as_str()) {
        return refuse("open the address rpcsh ui printed (it carries the run's token)");
    }
    next.run(request).await
}

fn refuse(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("rpcsh ui: refused: {why}\n"),
    )
        .into_response()
}

fn token_in(query: Option<&str>) -> Option<String> {
    let query: Query<HashMap<String, String>> =
        Query::try_from_uri(&format!("/?{}", query?).parse().ok()?).ok()?;
    query.0.get("token").cloned()
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The run's token: 128 random bits.
fn token() -> String {
    let bits: u128 = rand::random();
    format!("{bits:032x}")
}

async fn index(State(ui): State<Arc<Ui>>) -> Response {
    let conn = ui.api.conn();
    let protocol = match conn.protocol {
        Some(crate::client::net::web::Protocol::Connect) => "connect",
        Some(crate::client::net::web::Protocol::GrpcWeb) => "grpc-web",
        _ => "grpc",
    };
    let page = include_str!("page/index.html")
        .replace("{{address}}", &html_escape(&conn.addr))
        .replace("{{protocol}}", protocol)
        .replace("{{ask}}", if ui.ask_address { "1" } else { "" });
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Nothing from elsewhere, no inline script: a server's string can never run.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

async fn asset(kind: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

/// `text` safe inside HTML.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `$BROWSER`, else the platform's opener; a failure is a line, the address is printed anyway.
fn open_browser(url: &str) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            }
            .to_string()
        });
    let spawned = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!("rpcsh ui: cannot open a browser with {opener:?} ({e}): open the address above");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_cookies_are_read_exactly() {
        assert_eq!(token_in(Some("token=abc&x=1")).as_deref(), Some("abc"));
        assert_eq!(token_in(Some("x=1")), None);
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; rpcsh_ui=t0k; b=2".parse().unwrap());
        assert_eq!(cookie(&headers).as_deref(), Some("t0k"));
        assert_ne!(token(), token());
        assert_eq!(token().len(), 32);
        assert_eq!(html_escape("<b a='x'>&"), "&lt;b a=&#39;x&#39;&gt;&amp;");
    }
}
