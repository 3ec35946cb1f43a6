//! The shell's command parser and `rpcsh run`'s script checker: any text gives a command or a
//! message, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let _ = rpcsh::repl::command::parse(line);
    }
    let _ = rpcsh::repl::command::is_complete(text);
    let _ = rpcsh::script::check("fuzz.rpcsh", text);
});
