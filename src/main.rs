use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Run as `grpcurl` (a link) or `rpcsh grpcurl`: grpcurl's own command line, before clap.
    if let Some((program, args)) =
        rpcsh::cli::grpcurl::invoked(&std::env::args_os().collect::<Vec<_>>())
    {
        return rpcsh::cli::grpcurl::main(&program, args);
    }
    // grpcurl's order (the server first) is taken as well as rpcsh's own.
    let args = rpcsh::cli::first_as_addr(std::env::args_os().collect());
    // bench's --options FILE: the file's flags before the command line's.
    let args = match rpcsh::cli::options_file::expand(args) {
        Ok(args) => args,
        Err(err) => return rpcsh::sys::error::report(&err),
    };
    let cli = rpcsh::cli::Cli::parse_from(args);
    rpcsh::cli::run(cli).unwrap_or_else(|err| rpcsh::sys::error::report(&err))
}
