//! grpcurl's order of words: the server first (`rpcsh call localhost:50051 Greeter/SayHello
//! '{...}'`, `rpcsh list localhost:50051`). Before clap reads the command line, the first
//! positional argument of a command that takes the server as `--addr` becomes `--addr ADDR`
//! when it looks like an address (`host:port`, `unix:PATH`, a URL) and no `--addr` was given.
use crate::client::net::transport::looks_like_address;
use clap::CommandFactory;
use std::ffi::OsString;

/// The commands whose server is given with `--addr` (`connect` and `check` take it as their
/// first positional argument already).
const TAKE_ADDR: &[&str] = &[
    "call", "list", "describe", "template", "health", "bench", "encode", "decode",
];

/// `args` (the whole command line, program name first) with a leading address made `--addr`.
pub fn first_as_addr(args: Vec<OsString>) -> Vec<OsString> {
    let given = |w: &OsString| {
        let w = w.to_string_lossy();
        w == "-a"
            || w == "--addr"
            || w.starts_with("--addr=")
            || (w.starts_with("-a") && w.len() > 2 && !w.starts_with("--"))
    };
    // Most command lines hold no address-like word, or say --addr: they skip building clap's
    // command (which a one-shot call's start would pay).
    let address_like = |a: &OsString| looks_like_address(&a.to_string_lossy());
    if args.iter().any(given) || !args.iter().skip(2).any(address_like) {
        return args;
    }
    let mut cli = super::Cli::command();
    cli.build();
    let takes_value = |command: &clap::Command, flag: &str| -> bool {
        let found = command
            .get_arguments()
            .find(|a| match flag.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
            });
        found.is_some_and(|a| a.get_action().takes_values())
    };
    // The command: the first word after the global flags.
    let mut i = 1;
    while i < args.len() {
        let word = args[i].to_string_lossy();
        if !word.starts_with('-') {
            break;
        }
        i += if !word.contains('=') && takes_value(&cli, &word) {
            2
        } else {
            1
        };
    }
    let Some(command) = args
        .get(i)
        .and_then(|w| cli.find_subcommand(w.to_string_lossy().as_ref()))
    else {
        return args;
    };
    if !TAKE_ADDR.contains(&command.get_name()) {
        return args;
    }
    let mut j = i + 1;
    while j < args.len() {
        let word = args[j].to_string_lossy();
        if word == "--" {
            return args;
        }
        if word.starts_with('-') && word.len() > 1 {
            let joined = word.contains('=') || (!word.starts_with("--") && word.len() > 2);
            j += if !joined && takes_value(command, &word) {
                2
            } else {
                1
            };
            continue;
        }
        if !looks_like_address(&word) {
            return args;
        }
        let mut out = args;
        out.insert(j, "--addr".into());
        return out;
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(line: &str) -> String {
        let args = line.split(' ').map(OsString::from).collect();
        let out: Vec<String> = first_as_addr(args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        out.join(" ")
    }

    #[test]
    fn a_leading_address_becomes_addr() {
        assert_eq!(
            rewritten("rpcsh call localhost:50051 Greeter/SayHello {}"),
            "rpcsh call --addr localhost:50051 Greeter/SayHello {}"
        );
        assert_eq!(
            rewritten("rpcsh -v ls -H x:1 --plaintext unix:/tmp/s"),
            "rpcsh -v ls -H x:1 --plaintext --addr unix:/tmp/s"
        );
        assert_eq!(
            rewritten("rpcsh describe --timeout 2s [::1]:8080 Greeter"),
            "rpcsh describe --timeout 2s --addr [::1]:8080 Greeter"
        );
        // Left as they are: no address first, an --addr already, commands that take it so.
        for line in [
            "rpcsh call Greeter/SayHello {}",
            "rpcsh call -a x:1 y:2 Greeter/SayHello",
            "rpcsh connect localhost:50051",
            "rpcsh bench merge a.json b.json",
        ] {
            assert_eq!(rewritten(line), line);
        }
    }

    #[test]
    fn what_looks_like_an_address() {
        for yes in [
            "localhost:50051",
            "10.0.0.1:443",
            "[::1]:80",
            "unix:/s",
            "https://api",
        ] {
            assert!(looks_like_address(yes), "{yes}");
        }
        for no in [
            "Greeter/SayHello",
            "RouteGuide",
            "{\"a\":1}",
            "host:",
            "x:port",
            "-",
        ] {
            assert!(!looks_like_address(no), "{no}");
        }
    }
}
