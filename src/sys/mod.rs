//! The bottom floor: what every layer may use and that knows nothing of gRPC calls — errors as
//! the user sees them and exit codes, the terminal's colours and safe text, signals, process
//! figures, the state folder, durations and sizes.
pub mod error;
pub mod signals;
pub mod state;
pub mod stats;
pub mod style;
pub mod util;
