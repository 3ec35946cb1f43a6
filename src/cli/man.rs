//! `rpcsh man [COMMAND]`: the man pages, made from the clap definitions.
use super::Cli;

/// Writes the man page of rpcsh, or of one subcommand, in roff to stdout.
pub fn page(command: Option<&str>) -> anyhow::Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let page = match command {
        None => cmd,
        Some(name) => {
            let sub = cmd
                .find_subcommand(name)
                .or_else(|| {
                    cmd.get_subcommands()
                        .find(|c| c.get_all_aliases().any(|a| a == name))
                })
                .ok_or_else(|| {
                    let names: Vec<_> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                    crate::sys::error::Hint::new(
                        format!("no command named {name:?}"),
                        format!("commands: {}", names.join(", ")),
                    )
                })?;
            let full = format!("rpcsh-{}", sub.get_name());
            sub.clone().name(full)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    use std::io::Write;
    std::io::stdout().write_all(&out)?;
    Ok(())
}
