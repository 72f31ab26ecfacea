//! `vtr events`: notices as they happen, the ones the web app's dashboard
//! shows (`vtr_shared::notices`): a program asking for attention (a bell,
//! OSC 9 or OSC 777 notify), output for 10 s and then quiet, an exit.

use serde::Serialize;
use vtr_shared::notices::{Notice, Tracker};
use vtr_shared::proto as pb;

use super::exit::ExitCode;
use super::output::escape;
use crate::core::clock::now_ms;
use crate::transport::grpc::client::VtrClient;

#[derive(Serialize)]
struct NoticeJson<'a> {
    /// `spoke:name`.
    session: &'a str,
    /// `spoke:id`.
    id: &'a str,
    kind: &'static str,
    text: &'a str,
    at_ms: i64,
}

/// Prints notices until the server ends the stream (or the user stops
/// it); what happened before it started is not told.
pub async fn run(client: &mut VtrClient, json: bool) -> anyhow::Result<ExitCode> {
    let mut lists = client
        .watch_sessions(pb::WatchSessionsRequest {})
        .await?
        .into_inner();
    let mut tracker = Tracker::default();
    let mut first = true;
    while let Some(list) = lists.message().await? {
        if std::mem::take(&mut first) {
            // Said where it does not mix with the notices: from here on,
            // what happens is told.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "vtr events: watching {} sessions",
                list.sessions.len()
            );
        }
        let at_ms = now_ms();
        for n in tracker.update(&list.sessions, at_ms) {
            print(&n, at_ms, json)?;
        }
    }
    anyhow::bail!("the server ended the session list stream")
}

fn print(n: &Notice, at_ms: i64, json: bool) -> anyhow::Result<()> {
    if json {
        let line = NoticeJson {
            session: &n.address,
            id: &n.session,
            kind: n.kind.name(),
            text: &n.text,
            at_ms,
        };
        outln!("{}", serde_json::to_string(&line)?);
    } else {
        // The text is the program's: no control characters to the terminal.
        outln!(
            "{} {}: {}",
            escape(&n.address),
            n.kind.name(),
            escape(&n.text)
        );
    }
    Ok(())
}
