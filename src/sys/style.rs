//! Colours and text styles: one decision for the whole program. `--color` wins, then the config
//! file's `color`, then `NO_COLOR`; `auto` colours only a terminal. One palette serves errors,
//! responses, the shell and bench reports, so the same thing looks the same everywhere.
#![warn(missing_docs)]
use anstyle::{AnsiColor, Style};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// When to colour output: `auto` colours a terminal unless NO_COLOR is set; `always` even a
/// file or a pipe. (The variants carry no docs: clap would list them one per line in --help.)
#[allow(missing_docs)]
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Sets the choice for the rest of the program; the first call wins.
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The choice in effect.
pub fn choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// Whether what goes to stdout is coloured.
pub fn stdout() -> bool {
    enabled(std::io::stdout().is_terminal())
}

/// Whether what goes to stderr is coloured.
pub fn stderr() -> bool {
    enabled(std::io::stderr().is_terminal())
}

fn enabled(terminal: bool) -> bool {
    match choice() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

const fn fg(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(anstyle::Color::Ansi(color)))
}

/// `rpcsh: error:`, failed statuses.
pub const ERROR: Style = fg(AnsiColor::Red).bold();
/// `rpcsh: warning:`.
pub const WARNING: Style = fg(AnsiColor::Yellow).bold();
/// `hint:` under an error.
pub const HINT: Style = fg(AnsiColor::Cyan);
/// An OK status.
pub const OK: Style = fg(AnsiColor::Green);
/// The server address in the shell's prompt.
pub const ADDRESS: Style = fg(AnsiColor::Cyan);
/// Headings of reports and the prompt's service.
pub const HEADING: Style = Style::new().bold();
/// Secondary text.
pub const DIM: Style = Style::new().dimmed();

/// `text` in `style` when `on`, else as it is.
pub fn paint(on: bool, style: Style, text: impl std::fmt::Display) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// `text` from a server (a status message, a service name) made safe for a terminal: control
/// characters other than tab, newline and carriage return are shown escaped (`\x1b`, as git and
/// less show them), so that a server cannot set the title, clear the screen or colour text.
/// JSON output needs none of this: its strings escape control characters already.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}
