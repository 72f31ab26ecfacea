//! Sessions, spokes, commands and wait outcomes as JSON, one shape
//! wherever vtr prints or returns them: the CLI's `--json` and the MCP
//! tools.

use serde::Serialize;
use vtr_shared::proto as pb;

#[derive(Serialize)]
pub struct SessionJson<'a> {
    /// `spoke:name`: how every command and tool names it.
    address: String,
    id: &'a str,
    name: &'a str,
    spoke: &'a str,
    command: &'a str,
    args: &'a [String],
    cwd: &'a str,
    cols: u32,
    rows: u32,
    status: &'static str,
    exit_code: Option<i32>,
    exit_signal: Option<&'a str>,
    idle: bool,
    pid: u32,
    title: &'a str,
    created_at_ms: i64,
    exited_at_ms: Option<i64>,
    last_output_at_ms: Option<i64>,
    output_offset: u64,
    subscribers: u32,
    /// Listed by a hub from its last view of an unreachable spoke.
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    spoke_last_seen_ms: Option<i64>,
    /// Who started it, when known.
    #[serde(skip_serializing_if = "str::is_empty")]
    created_by: &'a str,
}

pub fn status_name(s: &pb::SessionInfo) -> &'static str {
    match pb::SessionStatus::try_from(s.status) {
        Ok(pb::SessionStatus::Exited) => "exited",
        Ok(pb::SessionStatus::Running) if s.idle => "idle",
        Ok(pb::SessionStatus::Running) => "running",
        _ => "unknown",
    }
}

pub fn session_json(s: &pb::SessionInfo) -> SessionJson<'_> {
    SessionJson {
        address: format!("{}:{}", s.spoke, s.name),
        id: &s.id,
        name: &s.name,
        spoke: &s.spoke,
        command: &s.command,
        args: &s.args,
        cwd: &s.cwd,
        cols: s.cols,
        rows: s.rows,
        status: status_name(s),
        exit_code: s.exit_code,
        exit_signal: (!s.exit_signal.is_empty()).then_some(s.exit_signal.as_str()),
        idle: s.idle,
        pid: s.pid,
        title: &s.title,
        created_at_ms: s.created_at_ms,
        exited_at_ms: (s.exited_at_ms > 0).then_some(s.exited_at_ms),
        last_output_at_ms: (s.last_output_at_ms > 0).then_some(s.last_output_at_ms),
        output_offset: s.output_offset,
        subscribers: s.subscribers,
        stale: s.stale,
        spoke_last_seen_ms: (s.spoke_last_seen_ms > 0).then_some(s.spoke_last_seen_ms),
        created_by: &s.created_by,
    }
}

#[derive(Serialize)]
pub struct SpokeJson<'a> {
    name: &'a str,
    state: &'static str,
    /// RFC 3339, UTC; null if never seen.
    last_seen: Option<String>,
    last_seen_ms: Option<i64>,
    rtt_ms: Option<f64>,
    version: &'a str,
    sessions: u32,
    joined: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    address: &'a str,
    labels: std::collections::BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    last_error: &'a str,
    failures: u32,
    next_attempt_ms: Option<i64>,
}

pub fn spoke_state(s: &pb::SpokeInfo) -> &'static str {
    match pb::SpokeState::try_from(s.state) {
        Ok(pb::SpokeState::Connecting) => "connecting",
        Ok(pb::SpokeState::Healthy) => "healthy",
        Ok(pb::SpokeState::Degraded) => "degraded",
        Ok(pb::SpokeState::Unreachable) => "unreachable",
        _ => "unknown",
    }
}

pub fn joined(s: &pb::SpokeInfo) -> &'static str {
    match pb::SpokeJoin::try_from(s.joined) {
        Ok(pb::SpokeJoin::Local) => "local",
        Ok(pb::SpokeJoin::Dialled) => "dialled",
        Ok(pb::SpokeJoin::Tunnelled) => "tunnelled",
        _ => "unknown",
    }
}

pub fn spoke_json(s: &pb::SpokeInfo) -> SpokeJson<'_> {
    let seen = (s.last_seen_ms > 0).then_some(s.last_seen_ms);
    SpokeJson {
        name: &s.name,
        state: spoke_state(s),
        last_seen: seen.map(rfc3339),
        last_seen_ms: seen,
        rtt_ms: (s.rtt_us > 0 || seen.is_some()).then(|| f64::from(s.rtt_us) / 1000.0),
        version: &s.version,
        sessions: s.sessions,
        joined: joined(s),
        address: &s.address,
        labels: s
            .labels
            .iter()
            .map(|l| (l.key.as_str(), l.value.as_str()))
            .collect(),
        last_error: &s.last_error,
        failures: s.failures,
        next_attempt_ms: (s.next_attempt_ms > 0).then_some(s.next_attempt_ms),
    }
}

/// A command a shell ran (its prompt marks).
#[derive(Serialize)]
pub struct CommandJson<'a> {
    seq: u64,
    command: &'a str,
    exit_code: Option<i32>,
    running: bool,
    started_at: String,
    duration_ms: u64,
    start_offset: u64,
    end_offset: Option<u64>,
}

pub fn command_json(c: &pb::CommandInfo) -> CommandJson<'_> {
    CommandJson {
        seq: c.seq,
        command: &c.text,
        exit_code: c.exit_code,
        running: c.end_offset.is_none(),
        started_at: rfc3339(c.started_at_ms),
        duration_ms: c.duration_ms,
        start_offset: c.start_offset,
        end_offset: c.end_offset,
    }
}

/// Why a wait returned (`pb::WaitOutcome`), by name.
pub fn outcome_name(outcome: i32) -> &'static str {
    match pb::WaitOutcome::try_from(outcome) {
        Ok(pb::WaitOutcome::Matched) => "matched",
        Ok(pb::WaitOutcome::Idle) => "idle",
        Ok(pb::WaitOutcome::TimedOut) => "timed_out",
        Ok(pb::WaitOutcome::Exited) => "exited",
        _ => "unknown",
    }
}

/// Unix milliseconds as RFC 3339 UTC (`2026-11-21T10:00:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}
