//! HTTP Basic credentials of a server, as curl and buf curl take them: `-u USER:PASSWORD`, or
//! the server's entry in a netrc file (`--netrc` reads ~/.netrc, `--netrc-file FILE` another),
//! sent as an `authorization: Basic ...` header with calls and reflection.
use anyhow::Context;
use base64::Engine;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `-u USER[:PASSWORD]`.
    User(String),
    /// `--netrc` (None: ~/.netrc) or `--netrc-file FILE`.
    Netrc(Option<PathBuf>),
}

impl Credentials {
    /// The header line to send to `host`: none when the netrc file has no entry for it.
    pub fn header(&self, host: &str) -> Option<anyhow::Result<String>> {
        let pair = match self {
            Credentials::User(user) => match user.split_once(':') {
                Some(_) => user.clone(),
                None => format!("{user}:"),
            },
            Credentials::Netrc(path) => {
                let path = match path {
                    Some(p) => p.clone(),
                    None => match std::env::var_os("HOME") {
                        Some(home) => PathBuf::from(home).join(".netrc"),
                        None => return Some(Err(anyhow::anyhow!("--netrc: HOME is not set"))),
                    },
                };
                let text = match std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the netrc file {}", path.display()))
                {
                    Ok(text) => text,
                    Err(e) => return Some(Err(e)),
                };
                let (login, password) = lookup(&text, host)?;
                format!("{login}:{password}")
            }
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        Some(Ok(format!("authorization: Basic {encoded}")))
    }
}

/// The login and password of `host` in a netrc file's text (`machine` entries, then
/// `default`), as curl reads it: words separated by blanks, `macdef` bodies skipped.
fn lookup(text: &str, host: &str) -> Option<(String, String)> {
    let mut entries: Vec<(Option<String>, String, String)> = Vec::new();
    let mut lines = text.lines();
    let mut words: Vec<String> = Vec::new();
    while let Some(line) = lines.next() {
        for w in line.split_whitespace() {
            if w.starts_with('#') {
                break;
            }
            if w == "macdef" {
                // A macro's body runs to the next blank line.
                for body in lines.by_ref() {
                    if body.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            words.push(w.to_string());
        }
    }
    let mut i = 0;
    while i < words.len() {
        let machine = match words[i].as_str() {
            "machine" if i + 1 < words.len() => {
                i += 2;
                Some(words[i - 1].clone())
            }
            "default" => {
                i += 1;
                None
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let (mut login, mut password) = (String::new(), String::new());
        while i + 1 < words.len() && !matches!(words[i].as_str(), "machine" | "default") {
            match words[i].as_str() {
                "login" => login = words[i + 1].clone(),
                "password" => password = words[i + 1].clone(),
                _ => {}
            }
            i += 2;
        }
        entries.push((machine, login, password));
    }
    entries
        .iter()
        .find(|(m, ..)| m.as_deref() == Some(host))
        .or_else(|| entries.iter().find(|(m, ..)| m.is_none()))
        .map(|(_, l, p)| (l.clone(), p.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries_as_curl_reads_them() {
        let text = "# mine\nmachine api.example.com login ann password s3cret\n\
                    macdef init\ncd /\n\nmachine other login bob\n  password pw\ndefault login anon password x\n";
        assert_eq!(
            lookup(text, "api.example.com"),
            Some(("ann".into(), "s3cret".into()))
        );
        assert_eq!(lookup(text, "other"), Some(("bob".into(), "pw".into())));
        assert_eq!(lookup(text, "elsewhere"), Some(("anon".into(), "x".into())));
        assert_eq!(lookup("machine a login b password c", "z"), None);
    }

    #[test]
    fn user_and_password_in_basic_authorization() {
        let header = Credentials::User("ann:s3cret".into())
            .header("h")
            .unwrap()
            .unwrap();
        assert_eq!(header, "authorization: Basic YW5uOnMzY3JldA==");
        let bare = Credentials::User("ann".into())
            .header("h")
            .unwrap()
            .unwrap();
        assert_eq!(bare, "authorization: Basic YW5uOg==");
    }
}
