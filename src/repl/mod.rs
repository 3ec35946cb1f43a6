//! The terminal front end of the shell's engine, `rpcsh connect` and `rpcsh demo`: the line
//! editor runs on a thread of its own (rustyline's `readline` blocks) and hands lines over a
//! channel; responses that arrive while the person types (streams, watches) are printed above
//! the prompt through rustyline's external printer. With stdin not a terminal it reads commands
//! line by line, with no prompt and no colours: the base of scripted sessions.
pub mod complete;
mod editor;

pub use editor::history_path;
use editor::{spawn_editor, spawn_reader, Input};

use crate::client::output::format::{Format, Style};
use crate::lang::command;
use crate::lang::engine::{Output, Shared, Shell};
use crate::session::connection::Connection;
use complete::ShellHelper;
use std::io::IsTerminal;
use tokio::sync::mpsc;

/// How the shell is run.
#[derive(Debug, Clone, Default)]
pub struct ReplOptions {
    /// Keep no history file.
    pub no_history: bool,
    /// `--record FILE`: record the session as a script.
    pub record: Option<command::RecordSpec>,
}

/// Runs the shell until `exit`, Ctrl-D or the end of piped input. Returns the exit code: 0, or 1
/// when piped input had a command fail.
pub async fn run(conn: Connection, options: ReplOptions) -> anyhow::Result<u8> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // Typed at, Ctrl-C is the editor's (it cancels a wait, the shell stays); SIGTERM and SIGHUP
    // end the shell with the terminal restored. Piped, Ctrl-C ends the session too. History
    // and recordings are on disk after every command: nothing is lost.
    let terminal = interactive.then(crate::sys::signals::Terminal::save);
    tokio::spawn(async move {
        let code = crate::sys::signals::interrupted(!interactive).await;
        if let Some(terminal) = &terminal {
            terminal.restore();
        }
        std::process::exit(code.into());
    });
    let color = interactive && crate::sys::style::stdout();
    let shared = Shared::default();
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<Input>();
    let (prompt_tx, prompt_rx) = std::sync::mpsc::channel::<Option<String>>();
    let out = if interactive {
        let helper = ShellHelper::new(shared.known.clone(), color, shared.stream_input.clone());
        let history = (!options.no_history).then(history_path).flatten();
        Output::Screen(spawn_editor(helper, history, prompt_rx, lines_tx)?)
    } else {
        spawn_reader(lines_tx);
        Output::Plain
    };
    let style = Style {
        format: if interactive {
            Format::Json
        } else {
            Format::Jsonl
        },
        emit_defaults: false,
        proto_names: false,
        color,
    };
    let mut shell = Shell::new(conn, out, style, shared);
    if let Some(spec) = options.record {
        shell.start_recording(spec)?;
    }
    if interactive {
        shell.open_behind_prompt();
    } else if let Err(e) = shell.connect().await {
        shell.fail(&e);
    }
    loop {
        if interactive && prompt_tx.send(Some(shell.prompt())).is_err() {
            break;
        }
        let Some(input) = lines.recv().await else {
            break;
        };
        let keep_going = match input {
            Input::Line(line) => shell.handle(&line).await,
            Input::Interrupt => {
                shell.interrupt();
                true
            }
            Input::Eof => shell.end_of_input().await,
        };
        if !keep_going {
            break;
        }
    }
    let code = shell.end(interactive).await;
    let _ = prompt_tx.send(None);
    Ok(code)
}
