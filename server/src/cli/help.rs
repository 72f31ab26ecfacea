//! `vtr --help` as users see it: the connection options shown once, in
//! the top-level help, and in the subcommands where they mean something
//! of their own.

use clap::CommandFactory;

use super::Cli;

/// Global options and the subcommands whose help shows each: the
/// connection options matter to every client command but are listed once,
/// in `vtr --help`, so a command's own help shows its own options; the
/// servers show the ones that mean something else to them (where to listen,
/// which token to require).
const GLOBAL_SHOWN_IN: &[(&str, &[&str])] = &[
    ("socket", &["hub", "spoke"]),
    ("addr", &[]),
    ("token_file", &["hub", "spoke"]),
    ("ca_file", &[]),
    ("config", &["hub", "spoke", "validate"]),
    (
        "json",
        &[
            "spokes", "spawn", "ls", "info", "send", "screen", "wait", "idle", "grep", "resize",
            "rename", "create", "share",
        ],
    ),
];

const GLOBALS_NOTE: &str = "Connection options (--socket, --addr, --token-file, --ca-file, \
                            --config) work with every command: see `vtr --help`.";

/// The command line's definition, with global options shown where they
/// matter (see [`GLOBAL_SHOWN_IN`]); `vtr SUBCOMMAND --socket PATH` still
/// works everywhere.
pub fn command() -> clap::Command {
    let mut cli = Cli::command();
    let globals: Vec<clap::Arg> = cli
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        cli = cli.mut_subcommand(name, |c| hide_globals(c, &globals));
    }
    cli
}

/// Gives `command` a hidden copy of each global option it should not
/// show. Clap then parses the copy instead of propagating the original,
/// and hands its value up to the same field, by the same id.
fn hide_globals(mut command: clap::Command, globals: &[clap::Arg]) -> clap::Command {
    let name = command.get_name().to_owned();
    for arg in globals {
        let shown = GLOBAL_SHOWN_IN
            .iter()
            .find(|(id, _)| arg.get_id() == *id)
            .is_some_and(|(_, shown_in)| shown_in.contains(&name.as_str()));
        if !shown {
            command = command.arg(arg.clone().hide(true));
        }
    }
    command = command.after_help(GLOBALS_NOTE);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for sub in names {
        command = command.mut_subcommand(sub, |c| hide_globals(c, globals));
    }
    command
}
