use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rpcsh::cli::Cli::parse();
    rpcsh::cli::run(cli).unwrap_or_else(|err| rpcsh::error::report(&err))
}
