//! The script language the shell, `rpcsh run`, `bench --script` and the mock share: its parser
//! (command), its checks (expect), the shell's engine that runs it (engine), scripts run (script)
//! and calls written as scripts (recording).
pub mod command;
pub mod engine;
pub mod expect;
pub mod recording;
pub mod script;
