//! Client commands: each turns arguments into one or two RPCs and prints
//! the result.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use vtr_shared::proto as pb;

use super::exit::ExitCode;
use super::output::{self, escape, print_json, session_json};
use super::{Cli, Command, ConfigCommand, SpawnArgs, TargetArgs, WaitFrom};
use crate::transport::grpc::auth::Token;
use crate::transport::grpc::client::{self, Target, VtrClient};
use crate::transport::json::outcome_name;

pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    match cli.command {
        Command::Spoke(args) => super::serve::spoke(args, cli.target).await,
        Command::Hub(args) => super::serve::hub(args, cli.target).await,
        Command::Config(ConfigCommand::Validate { file }) => {
            validate_config(file.or(cli.target.config))
        }
        Command::Completions { shell } => super::docs::completions(shell),
        Command::Man { dir } => super::docs::man(dir.as_deref()),
        Command::Spokes => spokes(&target(&cli.target)?, json).await,
        Command::Mcp => super::mcp::run(&target(&cli.target)?).await,
        Command::Share(command) => super::share::run(&target(&cli.target)?, command, json).await,
        Command::Grant(command) => super::grant::run(&target(&cli.target)?, command, json).await,
        Command::Audit { grant, limit } => {
            super::grant::audit(&target(&cli.target)?, grant, limit, json).await
        }
        command => {
            let target = target(&cli.target)?;
            let mut client = client::connect(&target).await?;
            client_command(&mut client, command, json).await
        }
    }
}

/// `--addr` (TCP), else `--socket`, else the hub's socket if a hub runs
/// here, else the spoke's.
pub fn target(args: &TargetArgs) -> anyhow::Result<Target> {
    if let Some(url) = &args.addr {
        let token = args
            .token_file
            .as_deref()
            .map(Token::from_file)
            .transpose()?;
        return Ok(Target::Tcp {
            url: url.clone(),
            token,
            ca_file: args.ca_file.clone(),
        });
    }
    if let Some(path) = &args.socket {
        return Ok(Target::Unix(path.clone()));
    }
    let hub = crate::paths::default_hub_socket();
    Ok(Target::Unix(if hub.exists() {
        hub
    } else {
        crate::paths::default_spoke_socket()
    }))
}

/// `vtr spokes`: the hub's spokes and their health.
async fn spokes(target: &Target, json: bool) -> anyhow::Result<ExitCode> {
    let mut client = client::connect_federation(target).await?;
    let list = match client.list_spokes(pb::ListSpokesRequest {}).await {
        Ok(list) => list.into_inner().spokes,
        Err(status) if status.code() == tonic::Code::Unimplemented => {
            anyhow::bail!("{target} is a spoke, not a hub: `vtr spokes` needs a hub")
        }
        Err(status) => return Err(status.into()),
    };
    if json {
        let items: Vec<_> = list.iter().map(output::spoke_json).collect();
        print_json(&items)?;
    } else {
        let now = crate::core::clock::now_ms();
        output::print_spokes(&list, now)?;
    }
    Ok(ExitCode::Ok)
}

/// `vtr config validate`: every problem, one per line, as FILE:LINE.
fn validate_config(file: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    let Some(path) = file.or_else(crate::config::default_path) else {
        anyhow::bail!("no config file given and no default path (HOME is unset)");
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let problems = crate::config::check(&text);
    for problem in &problems {
        eprintln!("{}:{}: {}", path.display(), problem.line, problem.message);
    }
    if problems.is_empty() {
        outln!("{}: ok", path.display());
        Ok(ExitCode::Ok)
    } else {
        eprintln!("{}: {} problem(s)", path.display(), problems.len());
        Ok(ExitCode::Usage)
    }
}

async fn client_command(
    client: &mut VtrClient,
    command: Command,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Spoke(_)
        | Command::Hub(_)
        | Command::Spokes
        | Command::Mcp
        | Command::Config(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Share(_)
        | Command::Grant(_)
        | Command::Audit { .. } => {
            anyhow::bail!("not a client command")
        }
        Command::Spawn(args) => spawn(client, args, json).await,
        Command::Events => super::events::run(client, json).await,
        Command::Ls => {
            let list = client.list(pb::ListRequest {}).await?.into_inner();
            if json {
                let items: Vec<_> = list.sessions.iter().map(session_json).collect();
                print_json(&items)?;
            } else {
                output::print_sessions(&list.sessions)?;
            }
            Ok(ExitCode::Ok)
        }
        Command::Info { session } => {
            let info = client
                .info(pb::SessionRequest { session })
                .await?
                .into_inner();
            if json {
                print_json(&session_json(&info))?;
            } else {
                output::print_session(&info)?;
            }
            Ok(ExitCode::Ok)
        }
        Command::Send {
            session,
            text,
            submit,
            wait,
            timeout,
            request_id,
        } => {
            let sent = client
                .send_text(pb::SendTextRequest {
                    session: session.clone(),
                    text,
                    submit,
                    request_id: request_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            match wait {
                Some(regex) => {
                    wait_for(client, session, regex, timeout, Some(sent.offset), json).await
                }
                None => {
                    if json {
                        print_json(&serde_json::json!({ "offset": sent.offset }))?;
                    }
                    Ok(ExitCode::Ok)
                }
            }
        }
        Command::Key { session, keys } => {
            client
                .send_key(pb::SendKeyRequest {
                    session,
                    keys,
                    ..Default::default()
                })
                .await?;
            Ok(ExitCode::Ok)
        }
        Command::Screen { session } => {
            let screen = client
                .get_screen(pb::SessionRequest { session })
                .await?
                .into_inner();
            output::print_screen(&screen, json)?;
            Ok(ExitCode::Ok)
        }
        Command::Wait {
            session,
            regex,
            timeout,
            from,
        } => {
            let from_offset = match from {
                WaitFrom::Now => None,
                WaitFrom::Start => Some(0),
                WaitFrom::Offset(offset) => Some(offset),
                WaitFrom::Input => last_input(client, &session).await?,
            };
            wait_for(client, session, regex, timeout, from_offset, json).await
        }
        Command::Idle {
            session,
            idle,
            timeout,
            screen,
        } => {
            let r = client
                .wait_for_idle(pb::WaitForIdleRequest {
                    session,
                    idle_ms: millis(idle),
                    timeout_ms: millis(timeout),
                    include_screen: screen,
                })
                .await?
                .into_inner();
            let code = outcome_code(r.outcome, "silence", timeout);
            if json {
                print_json(&serde_json::json!({
                    "outcome": outcome_name(r.outcome),
                    "lines": r.screen.as_ref().map(|s| &s.lines),
                }))?;
            } else if let Some(s) = &r.screen {
                output::print_screen(s, false)?;
            }
            Ok(code)
        }
        Command::Grep {
            session,
            regex,
            after,
            before,
            max_count,
        } => grep(client, session, regex, before, after, max_count, json).await,
        Command::Run {
            session,
            timeout,
            max_output,
            request_id,
            command,
        } => {
            super::run::run(
                client,
                session,
                command.join(" "),
                timeout,
                max_output,
                request_id.unwrap_or_default(),
                json,
            )
            .await
        }
        Command::History { session, limit } => {
            super::run::history(client, session, limit, json).await
        }
        Command::Resize {
            session,
            cols,
            rows,
        } => {
            let info = client
                .resize(pb::ResizeRequest {
                    session,
                    cols,
                    rows,
                })
                .await?
                .into_inner();
            print_info_if_json(&info, json)?;
            Ok(ExitCode::Ok)
        }
        Command::Rename { session, new_name } => {
            let info = client
                .rename(pb::RenameRequest { session, new_name })
                .await?
                .into_inner();
            print_info_if_json(&info, json)?;
            Ok(ExitCode::Ok)
        }
        Command::Kill {
            session,
            signal,
            timeout,
        } => {
            client
                .kill(pb::KillRequest {
                    session: session.clone(),
                    signal: signal.clone(),
                })
                .await?;
            if timeout.is_zero() {
                return Ok(ExitCode::Ok);
            }
            wait_exited(client, &session, &signal, timeout).await
        }
        Command::Rm { session, force } => {
            client.remove(pb::RemoveRequest { session, force }).await?;
            Ok(ExitCode::Ok)
        }
        Command::Record {
            session,
            output,
            follow,
        } => record(client, session, output, follow).await,
        Command::Attach {
            session,
            detach_key,
            no_resize,
        } => super::attach::attach(client, session, &detach_key, !no_resize).await,
    }
}

async fn spawn(client: &mut VtrClient, args: SpawnArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut command = args.command.into_iter();
    let (spoke, name) = match args.name.split_once(':') {
        Some((spoke, name)) => (spoke.to_owned(), name.to_owned()),
        None => (String::new(), args.name),
    };
    let qualified = !spoke.is_empty();
    let info = client
        .spawn(pb::SpawnRequest {
            spoke,
            name,
            command: command.next().unwrap_or_default(),
            args: command.collect(),
            cwd: args.cwd.unwrap_or_default(),
            env: args.env,
            cols: args.cols,
            rows: args.rows,
            created_by: crate::paths::user_name(),
            no_shell_integration: args.no_shell_integration,
        })
        .await?
        .into_inner();
    if json {
        print_json(&session_json(&info))?;
    } else if qualified {
        outln!("{}:{}", escape(&info.spoke), escape(&info.name));
    } else {
        outln!("{}", escape(&info.name));
    }
    Ok(ExitCode::Ok)
}

/// Waits until a signalled session has exited, so the next command
/// (`vtr rm`) finds it ended.
async fn wait_exited(
    client: &mut VtrClient,
    session: &str,
    signal: &str,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    // Polled: an exit takes a few milliseconds, and this is one session.
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let info = client
            .info(pb::SessionRequest {
                session: session.to_owned(),
            })
            .await?
            .into_inner();
        if info.status == pb::SessionStatus::Exited as i32 {
            return Ok(ExitCode::Ok);
        }
        if tokio::time::Instant::now() >= deadline {
            let sent = if signal.parse::<i32>().is_ok() {
                format!("signal {signal}")
            } else {
                format!("SIG{}", signal.to_uppercase().trim_start_matches("SIG"))
            };
            eprintln!("vtr: {session} still runs {timeout:?} after {sent}; try --signal KILL");
            return Ok(ExitCode::TimedOut);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where the session last took input, so a `wait` after a separate
/// `send` (or `spawn`) sees what came before it started. A spoke too old
/// to say: from now, as `wait` always did.
async fn last_input(client: &mut VtrClient, session: &str) -> anyhow::Result<Option<u64>> {
    let info = client
        .info(pb::SessionRequest {
            session: session.to_owned(),
        })
        .await?
        .into_inner();
    Ok(info.last_input_offset)
}

async fn wait_for(
    client: &mut VtrClient,
    session: String,
    pattern: String,
    timeout: Duration,
    from_offset: Option<u64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let r = client
        .wait_for(pb::WaitForRequest {
            session,
            pattern,
            timeout_ms: millis(timeout),
            from_offset,
        })
        .await?
        .into_inner();
    let code = outcome_code(r.outcome, "match", timeout);
    if json {
        print_json(&serde_json::json!({
            "outcome": outcome_name(r.outcome),
            "matched": r.matched,
            "line": r.line,
            "offset": r.offset,
        }))?;
    } else if code == ExitCode::Ok {
        outln!("{}", escape(&r.line));
    }
    Ok(code)
}

async fn grep(
    client: &mut VtrClient,
    session: String,
    pattern: String,
    before: u32,
    after: u32,
    max_matches: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let r = client
        .grep(pb::GrepRequest {
            session,
            pattern,
            before,
            after,
            max_matches,
        })
        .await?
        .into_inner();
    if json {
        let matches: Vec<_> = r
            .matches
            .iter()
            .map(|m| {
                serde_json::json!({
                    // 1-based, as grep(1) counts and as the human output shows.
                    "line_number": m.line_number + 1,
                    "line": m.line,
                    "before": m.before,
                    "after": m.after,
                })
            })
            .collect();
        print_json(&serde_json::json!({ "matches": matches, "truncated": r.truncated }))?;
    } else {
        let context = before > 0 || after > 0;
        for (i, m) in r.matches.iter().enumerate() {
            if context && i > 0 {
                outln!("--");
            }
            // The API counts lines from 0; people and grep(1) from 1.
            let number = m.line_number + 1;
            let first = number - m.before.len() as u64;
            for (j, line) in m.before.iter().enumerate() {
                outln!("{}-{}", first + j as u64, escape(line));
            }
            outln!("{}:{}", number, escape(&m.line));
            for (j, line) in m.after.iter().enumerate() {
                outln!("{}-{}", number + 1 + j as u64, escape(line));
            }
        }
    }
    if r.truncated {
        // On stderr in both modes, so a script reading stdout still sees it.
        eprintln!(
            "vtr: grep output truncated after {} matches (the --max-count limit or 2 MiB of text); narrow the pattern or context",
            r.matches.len()
        );
    }
    // Like grep(1): 1 when nothing matched (errors are 2, see `cli::run`).
    Ok(if r.matches.is_empty() {
        ExitCode::Error
    } else {
        ExitCode::Ok
    })
}

async fn record(
    client: &mut VtrClient,
    session: String,
    output: Option<std::path::PathBuf>,
    follow: bool,
) -> anyhow::Result<ExitCode> {
    let mut stream = client
        .record(pb::RecordRequest { session, follow })
        .await?
        .into_inner();
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    // A closed pipe on stdout ends quietly; any other failure is reported.
    let failed = |e: std::io::Error| match &output {
        None => output::stdout_error(e),
        Some(path) => anyhow::Error::new(e).context(format!("writing {}", path.display())),
    };
    while let Some(chunk) = stream.message().await? {
        out.write_all(&chunk.data).map_err(failed)?;
    }
    out.flush().map_err(failed)?;
    Ok(ExitCode::Ok)
}

fn print_info_if_json(info: &pb::SessionInfo, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&session_json(info))?;
    }
    Ok(())
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn outcome_code(outcome: i32, what: &str, timeout: Duration) -> ExitCode {
    match pb::WaitOutcome::try_from(outcome) {
        Ok(pb::WaitOutcome::Matched | pb::WaitOutcome::Idle) => ExitCode::Ok,
        Ok(pb::WaitOutcome::TimedOut) => {
            eprintln!("vtr: timed out after {timeout:?} waiting for {what}");
            ExitCode::TimedOut
        }
        Ok(pb::WaitOutcome::Exited) => {
            eprintln!("vtr: session exited while waiting for {what}");
            ExitCode::Exited
        }
        _ => ExitCode::Error,
    }
}
