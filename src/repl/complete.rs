//! The line editor's helper: Tab completion (commands, services, methods, the field names and
//! enum values of the request being typed, file paths after `@`), multi-line JSON (the line is
//! not done while braces are open) and the prompt's colour. It reads what the shell knows
//! through a shared `Known`, updated by the shell as it learns the schema.
use crate::client::input::{self, Open};
use crate::lang::command::{self, COMMANDS};
pub use crate::lang::engine::Known;
use prost_reflect::{Kind, MessageDescriptor};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// How long a Tab waits for a background load still running before it completes from what is
/// known: a Tab pressed right after start finds the schema that is on its way.
const LOADING_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The completion view of what the engine knows.
impl Known {
    /// Services by full name, and by short name where that differs (`Compute` for
    /// `compute.Compute`): the shell accepts both.
    fn service_names(&self) -> Vec<String> {
        let mut out = self.services.clone();
        for s in &self.services {
            if let Some((_, short)) = s.rsplit_once('.') {
                out.push(short.to_string());
            }
        }
        out
    }

    fn methods(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.services {
            let Some(service) = self.pool.get_service_by_name(s) else {
                let short = s.rsplit('.').next().unwrap_or(s);
                for m in self.names.get(s).into_iter().flatten() {
                    out.push(format!("{short}/{m}"));
                    if short != s {
                        out.push(format!("{s}/{m}"));
                    }
                    if self.current.as_deref() == Some(s.as_str()) {
                        out.push(m.clone());
                    }
                }
                continue;
            };
            for m in service.methods() {
                out.push(format!("{}/{}", service.name(), m.name()));
                if service.full_name() != service.name() {
                    out.push(format!("{}/{}", service.full_name(), m.name()));
                }
                if self.current.as_deref() == Some(service.full_name()) {
                    out.push(m.name().to_string());
                }
            }
        }
        out
    }

    /// The request message of a method as typed (`Svc/M`, `Svc.M`, or bare after `use`).
    fn input_of(&self, method: &str) -> Option<MessageDescriptor> {
        let method = method.trim_start_matches('/');
        let (svc, name) = method
            .rsplit_once('/')
            .or_else(|| method.rsplit_once('.'))
            .or_else(|| Some((self.current.as_deref()?, method)))?;
        let service = self
            .pool
            .services()
            .find(|s| s.full_name() == svc || s.name() == svc)?;
        let m = service.methods().find(|m| m.name() == name)?;
        Some(m.input())
    }
}

pub struct ShellHelper {
    pub known: Arc<Mutex<Known>>,
    pub color: bool,
    files: FilenameCompleter,
    /// In a stream's sub-prompt: the message type each line is.
    pub stream_input: Arc<Mutex<Option<MessageDescriptor>>>,
    /// The lines of a request still open (braces unclosed) above the `...>` line being typed:
    /// what completion reads before it.
    pub pending: Arc<Mutex<String>>,
}

impl ShellHelper {
    pub fn new(
        known: Arc<Mutex<Known>>,
        color: bool,
        stream_input: Arc<Mutex<Option<MessageDescriptor>>>,
    ) -> Self {
        ShellHelper {
            known,
            color,
            files: FilenameCompleter::new(),
            stream_input,
            pending: Arc::default(),
        }
    }
}

fn pairs(prefix: &str, candidates: impl IntoIterator<Item = String>, suffix: &str) -> Vec<Pair> {
    let mut out: Vec<Pair> = candidates
        .into_iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| Pair {
            display: c.clone(),
            replacement: format!("{c}{suffix}"),
        })
        .collect();
    out.sort_by(|a, b| a.display.cmp(&b.display));
    out.dedup_by(|a, b| a.display == b.display);
    out
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let pending = self.pending.lock().unwrap().clone();
        if pending.is_empty() {
            return self.complete_in(line, pos, ctx);
        }
        // A continuation line: completed as the end of the whole request.
        let offset = pending.len() + 1;
        let whole = format!("{pending}\n{line}");
        let (start, found) = self.complete_in(&whole, offset + pos, ctx)?;
        Ok(match start.checked_sub(offset) {
            Some(start) => (start, found),
            None => (pos, Vec::new()),
        })
    }
}

impl ShellHelper {
    /// A Tab right after start waits a little for the schema on its way.
    fn wait_for_loading(&self) {
        let waited = std::time::Instant::now();
        while self.known.lock().unwrap().loading && waited.elapsed() < LOADING_WAIT {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn complete_in(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        self.wait_for_loading();
        let before = &line[..pos];
        let word_start = before
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |i| i + 1);
        let word = &before[word_start..];
        if let Some(path) = word.strip_prefix('@') {
            // Complete the path as if the @ were not there.
            let (start, found) = self.files.complete(path, path.len(), ctx)?;
            return Ok((word_start + 1 + start, found));
        }
        let stream_input = self.stream_input.lock().unwrap().clone();
        if let Some(message) = stream_input {
            return Ok(json_completion(before, &message).unwrap_or((pos, Vec::new())));
        }
        let known = self.known.lock().unwrap().clone();
        let words: Vec<&str> = before.split_whitespace().collect();
        let at_first =
            words.is_empty() || (words.len() == 1 && !before.ends_with(char::is_whitespace));
        if at_first {
            let names = COMMANDS
                .iter()
                .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
                .map(str::to_string);
            return Ok((word_start, pairs(word, names.chain(known.methods()), " ")));
        }
        let first = words[0];
        let second_word =
            words.len() == 1 || (words.len() == 2 && !before.ends_with(char::is_whitespace));
        match command::spec(first).map(|s| s.name) {
            Some("use") | Some("list") if second_word => {
                Ok((word_start, pairs(word, known.service_names(), "")))
            }
            Some("describe") | Some("template") if second_word => {
                let types = known.pool.all_messages().map(|m| m.full_name().to_string());
                Ok((
                    word_start,
                    pairs(
                        word,
                        known
                            .services
                            .clone()
                            .into_iter()
                            .chain(known.methods())
                            .chain(types),
                        "",
                    ),
                ))
            }
            Some("call") | Some("watch") if second_word => {
                Ok((word_start, pairs(word, known.methods(), " ")))
            }
            Some("call") | Some("watch") => Ok(request_after(&known, before, words[1], pos)),
            Some(_) => Ok((pos, Vec::new())),
            None => Ok(request_after(&known, before, first, pos)),
        }
    }
}

/// Completion inside the JSON of a request: field names where a key goes, enum value names
/// where an enum field's value goes. `json` ends at the cursor; the offset returned is within it.
fn json_completion(json: &str, root: &MessageDescriptor) -> Option<(usize, Vec<Pair>)> {
    let cursor = input::json_cursor(json);
    let Open::Message(message) = input::open_object(&cursor, root) else {
        return None;
    };
    // Fields already given in this object are not offered again.
    let given = cursor.keys.last().cloned().unwrap_or_default();
    let fresh = message
        .fields()
        .filter(|f| !given.iter().any(|k| k == f.json_name() || k == f.name()));
    match (&cursor.string, cursor.expecting_key) {
        (Some((start, typed)), true) => {
            let names = fresh.map(|f| f.json_name().to_string());
            return Some((*start, pairs(typed, names, "\": ")));
        }
        (None, true) if json.trim_end().ends_with(['{', ',']) => {
            let names = fresh.map(|f| format!("\"{}\"", f.json_name()));
            return Some((json.len(), pairs("", names, ": ")));
        }
        _ => {}
    }
    let key = cursor.key.as_deref()?;
    let field = message
        .fields()
        .find(|f| f.json_name() == key || f.name() == key)?;
    let Kind::Enum(e) = field.kind() else {
        return None;
    };
    let values = e.values().map(|v| v.name().to_string());
    match &cursor.string {
        Some((start, typed)) => Some((*start, pairs(typed, values, "\""))),
        None => Some((
            json.len(),
            pairs("", values.map(|v| format!("\"{v}")), "\""),
        )),
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        let _ = default;
        if !self.color {
            return Cow::Borrowed(prompt);
        }
        use crate::sys::style::{paint, ADDRESS, HEADING};
        // The address, then the service in use.
        Cow::Owned(match prompt.split_once(' ') {
            Some((addr, rest)) => format!(
                "{} {}",
                paint(true, ADDRESS, addr),
                paint(true, HEADING, rest)
            ),
            None => paint(true, ADDRESS, prompt),
        })
    }
}

// Every line is taken as typed: a request whose braces are still open goes on at a `...>`
// prompt (the editor thread), which says the shell waits for the rest.
impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// Completion of a request's JSON typed after `method` on the line.
fn request_after(known: &Known, before: &str, method: &str, pos: usize) -> (usize, Vec<Pair>) {
    let Some(input) = known.input_of(method) else {
        return (pos, Vec::new());
    };
    let json_start = before.find(method).map_or(0, |i| i + method.len());
    json_completion(&before[json_start..], &input)
        .map(|(s, p)| (s + json_start, p))
        .unwrap_or((pos, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect() -> MessageDescriptor {
        crate::serve::pb::pool()
            .get_message_by_name("Rectangle")
            .unwrap()
    }

    fn names(found: Option<(usize, Vec<Pair>)>) -> Vec<String> {
        found
            .map(|(_, p)| p.into_iter().map(|p| p.replacement).collect())
            .unwrap_or_default()
    }

    #[test]
    fn field_names_of_the_message_the_cursor_is_in() {
        assert_eq!(names(json_completion(" {\"l", &rect())), ["lo\": "]);
        assert_eq!(
            names(json_completion(" {\"lo\": {\"la", &rect())),
            ["latitude\": "]
        );
        assert_eq!(
            names(json_completion(" {\"lo\": {}, \"h", &rect())),
            ["hi\": "]
        );
        // `lo` is given already: only `hi` is offered.
        assert_eq!(
            names(json_completion(" {\"lo\": {\"latitude\": 1}, ", &rect())),
            ["\"hi\": "]
        );
        assert_eq!(
            names(json_completion(" {\"lo\": {\"latitude\": 1, ", &rect())),
            ["\"longitude\": "]
        );
        let (start, _) = json_completion(" {\"lo\": {\"la", &rect()).unwrap();
        assert_eq!(start, " {\"lo\": {\"".len());
    }

    #[test]
    fn enum_values() {
        let set = protox::compile(["interop.proto"], ["tests/py/protos"]).unwrap();
        let mut pool = prost_reflect::DescriptorPool::new();
        pool.add_file_descriptor_set(set).unwrap();
        let everything = pool.get_message_by_name("interop.v1.Everything").unwrap();
        assert_eq!(
            names(json_completion(" {\"color\": \"G", &everything)),
            ["GREEN\""]
        );
        assert_eq!(
            names(json_completion(" {\"color\": ", &everything)),
            ["\"COLOR_UNSPECIFIED\"", "\"GREEN\"", "\"RED\""]
        );
        assert_eq!(
            names(json_completion(" {\"inners\": {\"3\": {\"te", &everything)),
            ["text\": "]
        );
        assert_eq!(
            names(json_completion(" {\"innerList\": [{}, {\"nu", &everything)),
            ["numbers\": "]
        );
    }
}
