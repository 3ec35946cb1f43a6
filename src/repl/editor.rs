//! Where the shell's lines come from: the line editor on a thread of its own (rustyline's
//! `readline` blocks), with its history file, or piped stdin read command by command.
use super::complete::ShellHelper;
use crate::lang::command;
use crate::lang::engine::{for_history, Screen};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the editor thread sends.
pub(super) enum Input {
    Line(String),
    Interrupt,
    Eof,
}

/// `$XDG_STATE_HOME/rpcsh/history`, or `~/.local/state/rpcsh/history`.
pub fn history_path() -> Option<PathBuf> {
    crate::sys::state::path("history")
}

/// The prompt of a request's next line while its braces are open.
pub(super) const CONTINUATION: &str = "...> ";

/// Starts the editor thread; returns its external printer once the editor exists.
pub(super) fn spawn_editor(
    helper: ShellHelper,
    history: Option<PathBuf>,
    prompts: std::sync::mpsc::Receiver<Option<String>>,
    lines: mpsc::UnboundedSender<Input>,
) -> anyhow::Result<Arc<Mutex<Box<dyn Screen>>>> {
    let (printer_tx, printer_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let config = rustyline::Config::builder().auto_add_history(false).build();
        let mut editor =
            match rustyline::Editor::<ShellHelper, rustyline::history::DefaultHistory>::with_config(
                config,
            ) {
                Ok(e) => e,
                Err(e) => {
                    return drop(
                        printer_tx.send(Err(anyhow::anyhow!("cannot start the line editor: {e}"))),
                    )
                }
            };
        let pending = helper.pending.clone();
        editor.set_helper(Some(helper));
        let history = history.filter(|p| crate::sys::state::create_private(p).is_ok());
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        match editor.create_external_printer() {
            Ok(p) => {
                let boxed: Box<dyn Screen> = Box::new(AbovePrompt(Box::new(p)));
                let _ = printer_tx.send(Ok(Arc::new(Mutex::new(boxed))));
            }
            Err(e) => {
                return drop(
                    printer_tx.send(Err(anyhow::anyhow!("cannot start the line editor: {e}"))),
                )
            }
        }
        while let Ok(Some(prompt)) = prompts.recv() {
            let mut read = editor.readline(&prompt);
            // Braces still open: the request goes on at a continuation prompt.
            while let Ok(line) = &read {
                if command::is_complete(line) {
                    break;
                }
                *pending.lock().unwrap() = line.clone();
                read = editor
                    .readline(CONTINUATION)
                    .map(|more| format!("{line}\n{more}"));
            }
            pending.lock().unwrap().clear();
            let input = match read {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(for_history(&line));
                        if let Some(path) = &history {
                            let _ = editor.append_history(path);
                        }
                    }
                    Input::Line(line)
                }
                Err(rustyline::error::ReadlineError::Interrupted) => Input::Interrupt,
                Err(_) => Input::Eof,
            };
            if lines.send(input).is_err() {
                break;
            }
        }
    });
    printer_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the line editor did not start"))?
}

/// Reads piped commands: one per line, JSON spanning lines kept together.
pub(super) fn spawn_reader(lines: mpsc::UnboundedSender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut pending = String::new();
        for line in std::io::BufRead::lines(stdin.lock()) {
            let Ok(line) = line else { break };
            if !pending.is_empty() {
                pending.push('\n');
            }
            pending.push_str(&line);
            if command::is_complete(&pending)
                && lines
                    .send(Input::Line(std::mem::take(&mut pending)))
                    .is_err()
            {
                return;
            }
        }
        if !pending.is_empty() {
            let _ = lines.send(Input::Line(pending));
        }
        let _ = lines.send(Input::Eof);
    });
}

/// rustyline's external printer as the engine's screen: text printed above the prompt.
struct AbovePrompt(Box<dyn rustyline::ExternalPrinter + Send>);

impl Screen for AbovePrompt {
    fn print(&mut self, text: String) {
        let _ = self.0.print(text);
    }
}
