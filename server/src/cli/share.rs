//! `vtr share`: a hub's read-only links to sessions.

use serde::Serialize;
use vtr_shared::ago::until;
use vtr_shared::proto as pb;

use super::ShareCommand;
use super::exit::ExitCode;
use super::output::{escape, print_json};
use crate::core::clock::now_ms;
use crate::transport::grpc::client::{self, Target};

#[derive(Serialize)]
struct ShareJson<'a> {
    id: &'a str,
    session: &'a str,
    url: &'a str,
    created_at_ms: i64,
    expires_at_ms: i64,
    revoked_at_ms: Option<i64>,
    viewers: u32,
    created_by: &'a str,
    /// `live`, `revoked`, or `gone` (the session no longer exists).
    state: &'static str,
}

/// A link's state as people read it: revoked by someone, or useless
/// because its session ended, or live.
fn state(s: &pb::ShareInfo) -> &'static str {
    if s.revoked_at_ms != 0 {
        "revoked"
    } else if s.session_gone {
        "gone"
    } else {
        "live"
    }
}

fn share_json(s: &pb::ShareInfo) -> ShareJson<'_> {
    ShareJson {
        id: &s.id,
        session: &s.session,
        url: &s.url,
        created_at_ms: s.created_at_ms,
        expires_at_ms: s.expires_at_ms,
        revoked_at_ms: (s.revoked_at_ms != 0).then_some(s.revoked_at_ms),
        viewers: s.viewers,
        created_by: &s.created_by,
        state: state(s),
    }
}

pub async fn run(target: &Target, command: ShareCommand, json: bool) -> anyhow::Result<ExitCode> {
    let mut client = client::connect_shares(target).await?;
    let not_a_hub = |status: tonic::Status| -> anyhow::Error {
        if status.code() == tonic::Code::Unimplemented {
            anyhow::anyhow!("{target} is a spoke, not a hub: share links are made by a hub")
        } else {
            status.into()
        }
    };
    match command {
        ShareCommand::Create { session, ttl } => {
            let share = client
                .create_share(pb::CreateShareRequest {
                    session,
                    ttl_seconds: ttl.as_secs(),
                })
                .await
                .map_err(not_a_hub)?
                .into_inner();
            print_share(&share, json, &escape(&share.url))?;
        }
        ShareCommand::Ls => {
            let list = client
                .list_shares(pb::ListSharesRequest {})
                .await
                .map_err(not_a_hub)?
                .into_inner()
                .shares;
            if json {
                let items: Vec<_> = list.iter().map(share_json).collect();
                print_json(&items)?;
            } else {
                print_shares(&list)?;
            }
        }
        ShareCommand::Revoke { id } => {
            let share = client
                .revoke_share(pb::RevokeShareRequest { id })
                .await
                .map_err(not_a_hub)?
                .into_inner();
            let text = format!(
                "revoked {} (link to {})",
                escape(&share.id),
                escape(&share.session)
            );
            print_share(&share, json, &text)?;
        }
    }
    Ok(ExitCode::Ok)
}

/// One link: as JSON, or as `text` for people.
fn print_share(share: &pb::ShareInfo, json: bool, text: &str) -> anyhow::Result<()> {
    if json {
        print_json(&share_json(share))?;
    } else {
        outln!("{text}");
    }
    Ok(())
}

fn print_shares(list: &[pb::ShareInfo]) -> anyhow::Result<()> {
    if list.is_empty() {
        outln!("no share links");
        return Ok(());
    }
    let now = now_ms();
    let sessions: Vec<_> = list.iter().map(|s| escape(&s.session)).collect();
    let width = sessions.iter().map(|s| s.len()).max().unwrap_or(7).max(7);
    outln!(
        "{:<32}  {:<width$}  {:<8}  {:>14}  {:>7}  URL",
        "ID",
        "SESSION",
        "STATE",
        "EXPIRES",
        "VIEWERS"
    );
    for (s, session) in list.iter().zip(&sessions) {
        let state = state(s);
        let expires = until(s.expires_at_ms - now);
        outln!(
            "{:<32}  {:<width$}  {:<8}  {:>14}  {:>7}  {}",
            escape(&s.id),
            session,
            state,
            expires,
            s.viewers,
            escape(&s.url)
        );
    }
    Ok(())
}
