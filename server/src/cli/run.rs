//! `vtr run` and `vtr history`: commands at a session's shell prompt, as
//! its prompt marks report them.

use std::io::Write as _;
use std::time::Duration;

use vtr_shared::proto as pb;

use super::commands::millis;
use super::exit::ExitCode;
use super::output::{escape, print_json, stdout_error};
use crate::transport::grpc::client::VtrClient;
use crate::transport::json::command_json;

pub async fn run(
    client: &mut VtrClient,
    session: String,
    command: String,
    timeout: Duration,
    max_output: u32,
    request_id: String,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let r = client
        .run(pb::RunRequest {
            session,
            command,
            timeout_ms: millis(timeout),
            max_output_bytes: max_output,
            request_id,
        })
        .await?
        .into_inner();
    let end = pb::RunEnd::try_from(r.end).unwrap_or_default();
    let exit_code = r.command.as_ref().and_then(|c| c.exit_code);
    let code = match end {
        // A shell that gave no status: an error, not a success.
        pb::RunEnd::Finished => ExitCode::Command(exit_code.map_or(1, |c| c as u8)),
        pb::RunEnd::Exited => ExitCode::RunExited,
        // As a shell reports a syntax error.
        pb::RunEnd::NotStarted => ExitCode::Command(2),
        pb::RunEnd::TimedOut | pb::RunEnd::Unspecified => ExitCode::RunTimedOut,
    };
    if json {
        print_json(&serde_json::json!({
            "end": end.as_str_name().trim_start_matches("RUN_END_").to_lowercase(),
            "reason": r.reason,
            "seq": r.command.as_ref().map(|c| c.seq),
            "exit_code": exit_code,
            "duration_ms": r.command.as_ref().map(|c| c.duration_ms),
            "output": r.output,
            "output_omitted": r.output_omitted,
        }))?;
        return Ok(code);
    }
    if r.output_omitted > 0 {
        eprintln!(
            "vtr run: the first {} bytes of output left out (--max-output)",
            r.output_omitted
        );
    }
    let mut out = std::io::stdout().lock();
    out.write_all(r.output.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    if end != pb::RunEnd::Finished {
        eprintln!("vtr run: {}", r.reason);
    }
    Ok(code)
}

pub async fn history(
    client: &mut VtrClient,
    session: String,
    limit: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let list = client
        .list_commands(pb::ListCommandsRequest {
            session: session.clone(),
            limit,
        })
        .await?
        .into_inner();
    if json {
        let items: Vec<_> = list.commands.iter().map(command_json).collect();
        print_json(&items)?;
        return Ok(ExitCode::Ok);
    }
    if !list.shell_integration {
        eprintln!(
            "vtr history: {} sends no prompt marks (OSC 133): vtr adds them to the bash and \
             zsh it starts",
            escape(&session)
        );
        return Ok(ExitCode::Ok);
    }
    outln!("{:>5}  {:>6}  {:>9}  COMMAND", "SEQ", "EXIT", "DURATION");
    for c in &list.commands {
        let exit = match (c.end_offset, c.exit_code) {
            (None, _) => "running".to_owned(),
            (Some(_), Some(code)) => code.to_string(),
            (Some(_), None) => "-".to_owned(),
        };
        outln!(
            "{:>5}  {:>6}  {:>9}  {}",
            c.seq,
            exit,
            duration(c.duration_ms),
            escape(&c.text)
        );
    }
    Ok(ExitCode::Ok)
}

/// `850ms`, `12.3s`, `4m05s`.
fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(super::duration(850), "850ms");
        assert_eq!(super::duration(12_345), "12.3s");
        assert_eq!(super::duration(245_000), "4m05s");
    }
}
