//! `vtr grant` and `vtr audit`: a hub's scoped grants for agents, and the
//! calls made under them.

use serde::Serialize;
use vtr_shared::ago::{ago, until};
use vtr_shared::proto as pb;

use super::GrantCommand;
use super::exit::ExitCode;
use super::output::{escape, print_json};
use crate::core::clock::now_ms;
use crate::transport::grpc::client::{self, Target};

#[derive(Serialize)]
struct GrantJson<'a> {
    id: &'a str,
    scope: &'static str,
    /// `spoke:id` of each session (empty for a spoke grant).
    sessions: &'a [String],
    /// `spoke:name` of each when the grant was made.
    labels: &'a [String],
    spoke: Option<&'a str>,
    note: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    token: &'a str,
    created_at_ms: i64,
    expires_at_ms: i64,
    revoked_at_ms: Option<i64>,
    created_by: &'a str,
    /// `live` or `revoked`.
    state: &'static str,
}

fn scope_name(scope: i32) -> &'static str {
    match pb::GrantScope::try_from(scope) {
        Ok(pb::GrantScope::Control) => "control",
        _ => "observe",
    }
}

fn state(g: &pb::GrantInfo) -> &'static str {
    if g.revoked_at_ms != 0 {
        "revoked"
    } else {
        "live"
    }
}

fn grant_json(g: &pb::GrantInfo) -> GrantJson<'_> {
    GrantJson {
        id: &g.id,
        scope: scope_name(g.scope),
        sessions: &g.sessions,
        labels: &g.labels,
        spoke: (!g.spoke.is_empty()).then_some(g.spoke.as_str()),
        note: &g.note,
        token: &g.token,
        created_at_ms: g.created_at_ms,
        expires_at_ms: g.expires_at_ms,
        revoked_at_ms: (g.revoked_at_ms != 0).then_some(g.revoked_at_ms),
        created_by: &g.created_by,
        state: state(g),
    }
}

/// What a grant reaches, as people read it.
fn reach(g: &pb::GrantInfo) -> String {
    if g.spoke.is_empty() {
        escape(&g.labels.join(",")).into_owned()
    } else {
        format!("spoke {}", escape(&g.spoke))
    }
}

fn not_a_hub(target: &Target) -> impl Fn(tonic::Status) -> anyhow::Error + '_ {
    move |status| {
        if status.code() == tonic::Code::Unimplemented {
            anyhow::anyhow!("{target} is a spoke, not a hub: grants are made by a hub")
        } else {
            status.into()
        }
    }
}

pub async fn run(target: &Target, command: GrantCommand, json: bool) -> anyhow::Result<ExitCode> {
    let mut client = client::connect_grants(target).await?;
    match command {
        GrantCommand::Create {
            session,
            spoke,
            scope,
            ttl,
            note,
        } => {
            let scope = match scope.as_str() {
                "control" => pb::GrantScope::Control,
                _ => pb::GrantScope::Observe,
            };
            let grant = client
                .create_grant(pb::CreateGrantRequest {
                    scope: scope as i32,
                    sessions: session,
                    spoke: spoke.unwrap_or_default(),
                    ttl_seconds: ttl.as_secs(),
                    note: note.unwrap_or_default(),
                })
                .await
                .map_err(not_a_hub(target))?
                .into_inner();
            if json {
                print_json(&grant_json(&grant))?;
            } else {
                // The token alone on standard output: `TOKEN=$(vtr grant
                // create ...)` keeps it out of the terminal's scrollback.
                eprintln!(
                    "grant {}: {} {}, expires in {} (the token is shown this once)",
                    escape(&grant.id),
                    scope_name(grant.scope),
                    reach(&grant),
                    until(grant.expires_at_ms - now_ms())
                );
                outln!("{}", grant.token);
            }
        }
        GrantCommand::Ls => {
            let grants = client
                .list_grants(pb::ListGrantsRequest {})
                .await
                .map_err(not_a_hub(target))?
                .into_inner()
                .grants;
            if json {
                let items: Vec<_> = grants.iter().map(grant_json).collect();
                print_json(&items)?;
            } else {
                print_grants(&grants)?;
            }
        }
        GrantCommand::Revoke { id } => {
            let grant = client
                .revoke_grant(pb::RevokeGrantRequest { id })
                .await
                .map_err(not_a_hub(target))?
                .into_inner();
            if json {
                print_json(&grant_json(&grant))?;
            } else {
                outln!("revoked grant {} ({})", escape(&grant.id), reach(&grant));
            }
        }
    }
    Ok(ExitCode::Ok)
}

fn print_grants(list: &[pb::GrantInfo]) -> anyhow::Result<()> {
    if list.is_empty() {
        outln!("no grants");
        return Ok(());
    }
    let now = now_ms();
    let reaches: Vec<_> = list.iter().map(reach).collect();
    let width = reaches.iter().map(String::len).max().unwrap_or(7).max(7);
    outln!(
        "{:<16}  {:<7}  {:<width$}  {:<7}  {:>14}  NOTE",
        "ID",
        "SCOPE",
        "REACHES",
        "STATE",
        "EXPIRES"
    );
    for (g, reach) in list.iter().zip(&reaches) {
        outln!(
            "{:<16}  {:<7}  {:<width$}  {:<7}  {:>14}  {}",
            escape(&g.id),
            scope_name(g.scope),
            reach,
            state(g),
            until(g.expires_at_ms - now),
            escape(&g.note)
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct EntryJson<'a> {
    seq: u64,
    at_ms: i64,
    grant: &'a str,
    via: &'a str,
    call: &'a str,
    action: &'a str,
    session: &'a str,
    outcome: &'a str,
    detail: &'a str,
    duration_ms: i64,
}

pub async fn audit(
    target: &Target,
    grant: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut client = client::connect_grants(target).await?;
    let only = grant.clone().unwrap_or_default();
    let entries = client
        .list_audit(pb::ListAuditRequest {
            grant: grant.unwrap_or_default(),
            limit,
        })
        .await
        .map_err(not_a_hub(target))?
        .into_inner()
        .entries;
    if json {
        let items: Vec<_> = entries
            .iter()
            .map(|e| EntryJson {
                seq: e.seq,
                at_ms: e.at_ms,
                grant: &e.grant,
                via: &e.via,
                call: &e.call,
                action: &e.action,
                session: &e.session,
                outcome: &e.outcome,
                detail: &e.detail,
                duration_ms: e.duration_ms,
            })
            .collect();
        print_json(&items)?;
        return Ok(ExitCode::Ok);
    }
    if entries.is_empty() {
        if only.is_empty() {
            outln!("no calls under grants");
        } else {
            outln!(
                "no calls under grant {} (`vtr grant ls` lists grants)",
                escape(&only)
            );
        }
        return Ok(ExitCode::Ok);
    }
    let now = now_ms();
    outln!(
        "{:>8}  {:<16}  {:<4}  {:<14}  {:<10}  {:<20}  {:<7}  DETAIL",
        "WHEN",
        "GRANT",
        "VIA",
        "CALL",
        "ACTION",
        "SESSION",
        "OUTCOME"
    );
    for e in &entries {
        outln!(
            "{:>8}  {:<16}  {:<4}  {:<14}  {:<10}  {:<20}  {:<7}  {}",
            ago(now - e.at_ms),
            escape(&e.grant),
            escape(&e.via),
            escape(&e.call),
            escape(&e.action),
            escape(&e.session),
            escape(&e.outcome),
            escape(&e.detail)
        );
    }
    Ok(ExitCode::Ok)
}
