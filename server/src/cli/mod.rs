//! The `vtr` command line: clap definitions and dispatch. Client commands
//! live in `commands`, output formatting in `output`.

/// `println!` that reports a closed stdout as an error instead of
/// panicking: `outln!(...)` writes one line or returns from the enclosing
/// function with [`output::StdoutClosed`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))?
    };
}

mod attach;
mod commands;
mod docs;
mod events;
mod grant;
mod help;
use crate::config::duration;
pub mod exit;
mod mcp;
mod output;
mod run;
mod serve;
mod server_args;
mod share;

use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand};

pub use exit::ExitCode;
pub use help::command;
pub use server_args::{HubAction, HubArgs, HubCommand, SessionArgs, SpokeArgs};

const AFTER_HELP: &str = "\
Sessions are addressed by name or id; on a hub as spoke:session.

Exit codes:
  0    ok (grep: a line matched)
  1    error (grep: no line matched)
  2    usage error or invalid argument (grep: any error but 3)
  3    not found (session or spoke)
  4    timed out (wait, idle)
  5    the session exited before the condition held (wait, idle)
  124  run: the command still runs after --timeout (else run exits with its code)
  125  run: the session ended before the command did
  141  standard output closed by its reader (`vtr ... | head -1`), quietly";

#[derive(Debug, Parser)]
#[command(
    name = "vtr",
    version,
    about = "vtr: terminals for people and programs, on many machines",
    long_about = "vtr runs real terminal sessions (PTYs) on spokes and lets people and \
                  programs drive them: send keys, wait for output, read the screen, grep \
                  scrollback, attach interactively.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Which spoke a client command talks to. Taken by every command, and
/// shown once, in `vtr --help` (see [`command`]).
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection options")]
pub struct TargetArgs {
    /// Unix socket of the spoke [default: the per-user runtime socket].
    #[arg(long, global = true, env = "VTR_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// TCP address instead of a socket: http://HOST:PORT or https://HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "VTR_ADDR",
        value_name = "URL",
        conflicts_with = "socket"
    )]
    pub addr: Option<String>,
    /// File holding the bearer token for --addr; for `spoke --hub`, the
    /// token to present to the hub; for `hub`, the token tunnelled spokes
    /// must present [default: the hub's own token].
    #[arg(long, global = true, env = "VTR_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA bundle that signed the server's certificate (https).
    #[arg(long, global = true, env = "VTR_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Configuration file [default: $XDG_CONFIG_HOME/vtr/vtrpc.toml, if
    /// present]. Settings: defaults < this file < VTR_* variables < flags.
    #[arg(long, global = true, env = "VTR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a hub: one place for many spokes' sessions (an embedded spoke
    /// included unless --no-local-spoke; more from the configuration).
    /// Its port needs the hub's token: `vtr hub url` prints the sign-in URL.
    ///
    /// The embedded spoke's sessions are the hub's own processes: they end
    /// when the hub stops or restarts (their share links then show as gone).
    /// Sessions that must outlive the hub belong on a `vtr spoke` of their
    /// own, which the hub reaches again after a restart.
    Hub(Box<HubCommand>),
    /// Run a spoke: own PTY sessions and serve them over gRPC.
    Spoke(SpokeArgs),
    /// List a hub's spokes and their health.
    Spokes,
    /// Start a session.
    Spawn(SpawnArgs),
    /// List sessions.
    Ls,
    /// Serve the session tools to an agent host over stdio (the Model
    /// Context Protocol), calling the hub or spoke this command would: its
    /// per-user socket, --socket or --addr. Configure it in the agent host
    /// as the command `vtr mcp`. A hub serves the same tools at
    /// http://HOST:PORT/mcp (with its token as a bearer header).
    Mcp,
    /// Print notices as they happen, one per line, until stopped: a
    /// session asking for attention (a bell, OSC 9 or OSC 777 notify), one
    /// quiet again after 10 s of output, one exiting. The dashboard's
    /// notices, for scripts (--json: one object per line).
    Events,
    /// Show one session.
    Info {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
    },
    /// Type text into a session. Prints the output offset at that moment
    /// with --json (for `wait --from`).
    Send {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// The text to type, as is (use `vtr key` for named keys).
        text: String,
        /// Press Enter after the text.
        #[arg(long, short)]
        submit: bool,
        /// Then wait for output matching this regex (output caused by the
        /// input included, however fast it comes).
        #[arg(long, value_name = "REGEX")]
        wait: Option<String>,
        /// Give up on --wait after this long.
        #[arg(long, default_value = "30s", value_parser = duration::parse)]
        timeout: std::time::Duration,
        /// An id of your choosing: sent again with the same id, the text
        /// is typed once.
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
    },
    /// Press named keys: enter, tab, esc, up, f1, ctrl+c, alt+x, ...
    Key {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Key names, pressed in order.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Print the screen (--json: cells with colours, cursor).
    Screen {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
    },
    /// Wait for output matching a regex, from the session's last input on.
    ///
    /// By default the output matched starts where the session last took
    /// input (from anyone: `vtr send`, `vtr key`, an attached terminal, a
    /// browser pane), or at its start if it has had none. So
    /// `vtr send s make --submit; vtr wait s done` and `vtr spawn s -- cmd;
    /// vtr wait s ready` see output that came before `wait` started.
    /// Escape sequences and carriage returns are removed before matching.
    Wait {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Regular expression (Rust regex syntax), e.g. 'passed|failed'.
        regex: String,
        /// Give up after this long (e.g. 30s, 500ms, 2m): exit 4.
        #[arg(long, default_value = "30s", value_parser = duration::parse)]
        timeout: std::time::Duration,
        /// Where matching starts: `input` (the last input, else the start),
        /// `start` (all output the session still holds), `now` (output
        /// after this command starts), or a stream offset (as `send --json`
        /// prints).
        #[arg(long, value_name = "WHERE", default_value = "input", value_parser = parse_from)]
        from: WaitFrom,
    },
    /// Wait until a session has been quiet for a while.
    ///
    /// The silence is counted from when this command starts (or the last
    /// output after that), so output from before it never makes it return
    /// early or late.
    Idle {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Silence needed (e.g. 1s, 500ms).
        #[arg(long, default_value = "1s", value_parser = duration::parse)]
        idle: std::time::Duration,
        /// Give up after this long.
        #[arg(long, default_value = "30s", value_parser = duration::parse)]
        timeout: std::time::Duration,
        /// Print the screen once idle.
        #[arg(long)]
        screen: bool,
    },
    /// Run one command line at a session's shell prompt, wait for it to
    /// finish, print its output and exit with its exit code.
    ///
    /// The words after -- are joined by spaces into the line typed, as ssh
    /// does. The output is the command's own, escapes removed. This needs a
    /// shell that marks its prompts (OSC 133): vtr adds the marks to the
    /// bash and zsh it starts. Exits 124 if the command still runs after
    /// --timeout (it goes on running: see `vtr history`), 125 if the
    /// session ends first.
    Run {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Stop waiting after this long (e.g. 30s, 500ms, 2m).
        #[arg(long, default_value = "30s", value_parser = duration::parse)]
        timeout: std::time::Duration,
        /// Print at most the last this many bytes of output (up to 1 MiB).
        #[arg(long, default_value_t = 65536, value_name = "BYTES")]
        max_output: u32,
        /// An id of your choosing: run again with the same id (after a
        /// dropped connection, say), the line is not typed twice and the
        /// first run's result is printed.
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// The command line.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// The commands a session's shell ran, from its prompt marks: number,
    /// exit code, duration and command line, oldest first.
    History {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// The last this many (0: all kept, at most 1000).
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: u32,
    },
    /// Search scrollback and screen with a regex, as grep(1) does.
    ///
    /// Prints LINE:TEXT for a match and LINE-TEXT for context, numbered
    /// from 1 at the oldest line still held. Exits 0 if a line matched,
    /// 1 if none did, 2 on an error (3 if the session does not exist).
    Grep {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Regular expression (Rust regex syntax).
        regex: String,
        /// Lines of context after each match.
        #[arg(short = 'A', long, default_value_t = 0)]
        after: u32,
        /// Lines of context before each match.
        #[arg(short = 'B', long, default_value_t = 0)]
        before: u32,
        /// Most matches to print.
        #[arg(short = 'm', long, default_value_t = 100)]
        max_count: u32,
    },
    /// Change a session's size.
    Resize {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Columns (1 to 1000).
        cols: u32,
        /// Rows (1 to 1000).
        rows: u32,
    },
    /// Rename a session.
    Rename {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Its new name, [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
        new_name: String,
    },
    /// Send a signal to a session's process and wait for it to exit.
    ///
    /// The default, HUP, is what closing a terminal sends: it ends an
    /// interactive shell, which ignores TERM. Exits 4 if the process is
    /// still running after --timeout (try --signal KILL).
    Kill {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Signal name or number (HUP, INT, TERM, KILL, 9, ...).
        #[arg(long, short, default_value = "HUP")]
        signal: String,
        /// How long to wait for the process to exit; 0s: do not wait.
        #[arg(long, default_value = "5s", value_parser = duration::parse)]
        timeout: std::time::Duration,
    },
    /// Forget a session (kill it first, or use --force).
    Rm {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Kill a running session, then remove it.
        #[arg(long, short)]
        force: bool,
    },
    /// Write an asciinema v2 recording of a session's output.
    Record {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Output file [default: stdout].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Keep recording live output until the session exits.
        #[arg(long, short)]
        follow: bool,
    },
    /// Configuration file tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script (see the README for where it goes).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one per command into DIR.
    Man {
        /// Write vtr.1 and a page per command (vtr-spawn.1, ...) here.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Read-only links to a session, for anyone with the URL (a hub's).
    #[command(subcommand)]
    Share(ShareCommand),
    /// Tokens for agents and programs that observe or control only named
    /// sessions or one spoke, until they expire (a hub's).
    #[command(subcommand)]
    Grant(GrantCommand),
    /// The calls made under grants, newest first (a hub's).
    Audit {
        /// Only this grant's calls (its id, from `vtr grant ls`).
        #[arg(long)]
        grant: Option<String>,
        /// At most this many rows (1 to 10000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Attach this terminal to a session (detach with the detach key).
    Attach {
        /// The session: its name or id (on a hub, SPOKE:NAME).
        session: String,
        /// Key that detaches (a single-byte key such as ctrl+], ctrl+q).
        #[arg(long, default_value = "ctrl+]")]
        detach_key: String,
        /// Do not resize the session to this terminal.
        #[arg(long)]
        no_resize: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Make a link to SESSION and print its URL.
    Create {
        /// The session: SPOKE:NAME (or its name or id on the hub's own spoke).
        session: String,
        /// How long the link works (60s to 30d), e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = duration::parse)]
        ttl: std::time::Duration,
    },
    /// List the links not yet expired, with their viewers.
    Ls,
    /// Revoke a link: its viewers are cut off at once.
    Revoke {
        /// The link's id (from `vtr share ls`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Make a grant and print its token (shown this once; the hub keeps a
    /// hash). Its holder sends it as `Authorization: Bearer TOKEN` to the
    /// hub's /mcp or gRPC port.
    #[command(group = clap::ArgGroup::new("reach").required(true).args(["session", "spoke"]))]
    Create {
        /// A session it reaches: SPOKE:NAME (repeat for more, up to 64).
        /// Kept by id, so a rename does not move the grant.
        #[arg(long)]
        session: Vec<String>,
        /// Or one whole spoke: its sessions now and later (and, with
        /// control, starting new ones there).
        #[arg(long)]
        spoke: Option<String>,
        /// What it allows: `observe` (read only) or `control` (also
        /// typing, run, resize, rename, kill, remove, and with --spoke,
        /// spawn).
        #[arg(long, default_value = "observe", value_parser = ["observe", "control"])]
        scope: String,
        /// How long it works (1s to 30d), e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = duration::parse)]
        ttl: std::time::Duration,
        /// What it is for (shown in `vtr grant ls` and the dashboard), at
        /// most 200 bytes.
        #[arg(long)]
        note: Option<String>,
    },
    /// List the grants not yet expired.
    Ls,
    /// Revoke a grant: its calls and streams end at once.
    Revoke {
        /// The grant's id (from `vtr grant ls`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file and report every problem with its line
    /// (exit 2 if there is any).
    Validate {
        /// The file [default: --config, else the default path].
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SpawnArgs {
    /// Session name, [A-Za-z0-9][A-Za-z0-9._-]{0,63}; on a hub spoke:name
    /// picks the spoke (default: the hub's own).
    pub name: String,
    /// Working directory [default: the spoke's home].
    #[arg(long)]
    pub cwd: Option<String>,
    /// Extra environment, KEY=VALUE (repeatable).
    #[arg(long, short, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Terminal width in columns.
    #[arg(long, default_value_t = 80)]
    pub cols: u32,
    /// Terminal height in rows.
    #[arg(long, default_value_t = 24)]
    pub rows: u32,
    /// Start a bash or zsh without vtr's prompt marks (OSC 133), which
    /// `vtr run` and `vtr history` need.
    #[arg(long)]
    pub no_shell_integration: bool,
    /// Command and arguments [default: $SHELL].
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Where `vtr wait` starts matching output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFrom {
    /// The session's last input (its start if it has had none).
    Input,
    /// All output the session still holds.
    Start,
    /// Output after the command starts.
    Now,
    /// This stream offset.
    Offset(u64),
}

fn parse_from(text: &str) -> Result<WaitFrom, String> {
    match text {
        "input" => Ok(WaitFrom::Input),
        "start" => Ok(WaitFrom::Start),
        "now" => Ok(WaitFrom::Now),
        _ => text
            .parse()
            .map(WaitFrom::Offset)
            .map_err(|_| format!("{text:?} is not `input`, `start`, `now` or a stream offset")),
    }
}

/// Parses the process's arguments, or exits with clap's message (status 2).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs the parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let grep = matches!(cli.command, Command::Grep { .. });
    match commands::dispatch(cli).await {
        Ok(code) => code,
        // The reader of our output went away: end quietly, as a Unix tool
        // killed by SIGPIPE does (status 141 = 128 + SIGPIPE).
        Err(err) if err.downcast_ref::<output::StdoutClosed>().is_some() => ExitCode::StdoutClosed,
        Err(err) => {
            let code = match exit::classify(&err) {
                // grep(1)'s convention: 1 is "no line matched", 2 an error.
                ExitCode::Error if grep => ExitCode::Usage,
                code => code,
            };
            eprintln!("vtr: {}", exit::describe(&err));
            code
        }
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    fn every_command(
        command: &clap::Command,
        path: String,
        out: &mut Vec<(String, clap::Command)>,
    ) {
        for sub in command.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            out.push((path.clone(), sub.clone()));
            every_command(sub, path, out);
        }
    }

    #[test]
    fn definition_is_consistent() {
        command().debug_assert();
    }

    /// Every flag and argument says what it is for.
    #[test]
    fn every_argument_has_help() {
        let mut cli = command();
        cli.build();
        let mut commands = vec![("vtr".to_owned(), cli.clone())];
        every_command(&cli, "vtr".to_owned(), &mut commands);
        for (path, command) in &commands {
            for arg in command.get_arguments() {
                if arg.is_hide_set() || ["help", "version"].contains(&arg.get_id().as_str()) {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "`{path}`: {} has no help text",
                    arg.get_id()
                );
            }
        }
    }

    /// Connection options are listed in `vtr --help` and not repeated in
    /// each client command's help, yet still accepted there.
    #[test]
    fn global_options_are_shown_once() {
        let mut cli = command();
        let top = cli.render_long_help().to_string();
        for flag in [
            "--socket",
            "--addr",
            "--token-file",
            "--ca-file",
            "--config",
        ] {
            assert!(top.contains(flag), "vtr --help lacks {flag}");
        }
        for path in [&["spawn"][..], &["wait"], &["share", "create"]] {
            let mut command = command();
            command.build();
            let mut sub = command.clone();
            for name in path {
                sub = sub.find_subcommand(name).expect("subcommand").clone();
            }
            let help = sub.render_long_help().to_string();
            for flag in ["--socket", "--addr", "--ca-file"] {
                assert!(
                    !help.contains(&format!("{flag} <")),
                    "{path:?} help shows {flag}"
                );
            }
            assert!(help.contains("see `vtr --help`"), "{path:?}: {help}");
        }
        let parsed = Cli::from_arg_matches(
            &command()
                .try_get_matches_from(["vtr", "wait", "s", "x", "--socket", "/s", "--from", "7"])
                .expect("parses"),
        )
        .expect("parses");
        assert_eq!(
            parsed.target.socket.as_deref(),
            Some(std::path::Path::new("/s"))
        );
        assert!(matches!(
            parsed.command,
            Command::Wait {
                from: WaitFrom::Offset(7),
                ..
            }
        ));
    }
}
