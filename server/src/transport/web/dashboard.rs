//! `/ws/dashboard`: the hub's spokes and merged sessions pushed to the
//! browser after changes (coalesced, at most one push per `PUSH_GAP`), screen previews of busy sessions, and the
//! dashboard's actions (spawn, kill, rename, remove, create and revoke share
//! links) answered one by one. Share links are listed with their viewers.
//!
//! Nothing queues per browser: the lists come from watches that keep only
//! the latest value, and previews come from the hub's shared set
//! (`previews`), refreshed once a second.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use prost::Message as _;
use vtr_shared::proto as pb;
use vtr_shared::web;
use vtr_shared::web::dashboard_event::Event;
use vtr_shared::web::dashboard_request::Action;

use super::auth::{Identity, SignIn};
use super::{cards, previews, stream, who};
use crate::core::clock::now_ms;
use crate::core::{Coordinator, SessionSummary, SpawnSpec, limits};
use crate::hub::share::ShareError;
use crate::hub::{Hub, SpokeStatus};
use crate::transport::grpc;
use crate::transport::grpc::federation::spoke_info;
use crate::transport::map;
use crate::transport::unmap;
use crate::transport::web_state::WebState;

/// Largest request a dashboard sends: a spawn, whose strings are limited to
/// `MAX_SPAWN_BYTES`, with room for field overhead (up to 512 args and env
/// entries). Frames are capped too, so a larger one is refused from its
/// header, not read first.
const MAX_DASHBOARD_FRAME: usize = 2 * limits::MAX_SPAWN_BYTES;
/// Most sessions in one push frame (about 80 KB).
const FRAME_SESSIONS: usize = 256;
/// Least time between two pushes of the lists (spokes, sessions, links).
const PUSH_GAP: Duration = Duration::from_millis(500);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<WebState>,
    identity: Option<axum::Extension<Identity>>,
    sign_in: Option<axum::Extension<SignIn>>,
) -> Response {
    let who = who(identity);
    let sign_in = sign_in.map(|axum::Extension(s)| s);
    ws.max_message_size(MAX_DASHBOARD_FRAME)
        .max_frame_size(MAX_DASHBOARD_FRAME)
        .on_upgrade(move |mut socket| async move {
            tokio::select! {
                result = run(state, &mut socket, who) => if let Err(e) = result {
                    tracing::debug!("dashboard socket ended: {e}");
                },
                () = stream::signed_out(sign_in.as_ref()) => {
                    stream::close(&mut socket, stream::signed_out_ending()).await;
                }
            }
            // Its copy of every list, gone.
            crate::core::memory::released();
        })
}

async fn run(state: WebState, socket: &mut WebSocket, who: String) -> anyhow::Result<()> {
    let hub = &state.hub;
    let mut sessions_rx = hub.watch_merged();
    let mut spokes_rx = hub.watch_spokes();
    let mut links_rx = state.shares.changes();
    let mut grants_rx = state.grants.changes();
    let mut watchers_rx = state.presence.changes();
    let mut sessions: Arc<[SessionSummary]> = Arc::new([]);
    let mut spokes: Vec<SpokeStatus> = hub.spokes();
    let mut shares = state.list(None).await.unwrap_or_default();
    let mut shares_stale = false;
    let mut grants = grant_list(&state);
    let mut grants_changed = false;
    // The merged list as the page holds it (shared with the hub: no copy):
    // nothing before the first push, which is whole; every later push is
    // what changed since (see `Push`).
    let mut on_page: Option<Arc<[SessionSummary]>> = None;
    let mut spokes_changed = false;
    let mut shares_changed = false;
    // Which preview each card shows, by `spoke:id`.
    let mut shown = previews::Shown::default();
    let mut previews = tokio::time::interval(previews::EVERY);
    previews.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Every change owes the browser a push, at most one per PUSH_GAP: a
    // burst (spokes rejoining, sessions spawned, share viewers churning,
    // which anyone with a link can do) costs one push, not one per change.
    let mut due: Option<Instant> = None;
    let mut pushed = Instant::now() - PUSH_GAP;
    loop {
        tokio::select! {
            // The merged session list changed.
            list = sessions_rx.recv() => {
                let Some(list) = list else { return Ok(()) };
                sessions = list;
                shown.list_changed();
                due.get_or_insert(pushed + PUSH_GAP);
            }
            // A spoke's health changed.
            list = spokes_rx.recv() => {
                let Some(list) = list else { return Ok(()) };
                spokes = list;
                spokes_changed = true;
                due.get_or_insert(pushed + PUSH_GAP);
            }
            // A link was made or revoked, or its viewers changed.
            changed = stream::either_changed(&mut links_rx, &mut watchers_rx), if !shares_stale => {
                if changed.is_err() {
                    return Ok(());
                }
                shares_stale = true;
                due.get_or_insert(pushed + PUSH_GAP);
            }
            // A grant was made or revoked.
            changed = grants_rx.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                grants = grant_list(&state);
                grants_changed = true;
                due.get_or_insert(pushed + PUSH_GAP);
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                due = None;
                pushed = Instant::now();
                if std::mem::take(&mut shares_stale) {
                    shares = state.list(None).await.unwrap_or_default();
                    shares_changed = true;
                }
                let push = match &on_page {
                    None => Push::Whole,
                    Some(before) => Push::Changes {
                        sessions: cards::delta(before, &sessions),
                        spokes: std::mem::take(&mut spokes_changed),
                        shares: std::mem::take(&mut shares_changed),
                        grants: std::mem::take(&mut grants_changed),
                    },
                };
                on_page = Some(sessions.clone());
                let lists = Lists {
                    spokes: &spokes,
                    sessions: &sessions,
                    shares: &shares,
                    grants: &grants,
                };
                for d in dashboard(hub, push, &lists, &who) {
                    send(socket, Event::Dashboard(d)).await?;
                }
            }
            // An action, or the browser went away.
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(frame))) => {
                    let result = act(&state, &frame, &who).await;
                    send(socket, Event::Result(result)).await?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            _ = previews.tick() => {
                for preview in state.previews.refresh(hub, &sessions, &mut shown).await {
                    send(socket, Event::Preview(preview)).await?;
                }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, event: Event) -> anyhow::Result<()> {
    let frame = web::DashboardEvent { event: Some(event) }.encode_to_vec();
    stream::send_frame(socket, frame).await?;
    Ok(())
}

/// What a push holds.
enum Push {
    /// Everything: the socket's first push.
    Whole,
    /// What changed since the last push: the sessions added, changed and
    /// gone, and the spokes and links if they changed at all.
    Changes {
        sessions: cards::Delta,
        spokes: bool,
        shares: bool,
        grants: bool,
    },
}

/// Everything a push may hold.
struct Lists<'a> {
    spokes: &'a [SpokeStatus],
    sessions: &'a [SessionSummary],
    shares: &'a [pb::ShareInfo],
    grants: &'a [pb::GrantInfo],
}

/// The hub's grants as the page shows them (never their tokens).
fn grant_list(state: &WebState) -> Vec<pb::GrantInfo> {
    match state.grants.list() {
        Ok(grants) => grants.iter().map(grpc::grants::grant_info).collect(),
        Err(e) => {
            tracing::error!("listing grants: {e}");
            Vec::new()
        }
    }
}

/// The frames of a push: none when nothing the page shows changed, more
/// than one when it holds more than `FRAME_SESSIONS` sessions.
fn dashboard(hub: &Hub, push: Push, lists: &Lists<'_>, you: &str) -> Vec<web::Dashboard> {
    let Lists {
        spokes,
        sessions,
        shares,
        grants,
    } = *lists;
    let spoke_list = || spokes.iter().cloned().map(spoke_info).collect();
    let mut d = web::Dashboard {
        now_ms: now_ms(),
        hub: hub.name().to_owned(),
        you: you.to_owned(),
        ..web::Dashboard::default()
    };
    match push {
        Push::Whole => {
            d.spokes = spoke_list();
            d.sessions = sessions.iter().map(map::session_info).collect();
            d.shares = shares.to_vec();
            d.grants = grants.to_vec();
        }
        Push::Changes {
            sessions: delta,
            spokes: spokes_changed,
            shares: shares_changed,
            grants: grants_changed,
        } => {
            if delta.is_empty() && !spokes_changed && !shares_changed && !grants_changed {
                return Vec::new();
            }
            d.partial = true;
            d.sessions = delta.changed;
            d.removed = delta.removed;
            if spokes_changed {
                d.spokes = spoke_list();
                d.spokes_changed = true;
            }
            if shares_changed {
                d.shares = shares.to_vec();
                d.shares_changed = true;
            }
            if grants_changed {
                d.grants = grants.to_vec();
                d.grants_changed = true;
            }
        }
    }
    in_frames(d)
}

/// A push split so that no frame holds more than `FRAME_SESSIONS`
/// sessions: the first frame as given, the rest of its sessions in partial
/// pushes after it. A socket's write buffer keeps the size of the largest
/// frame it sent: one 1.5 MB frame per dashboard (5,000 sessions) stayed in
/// the hub's memory for as long as the dashboard was open.
fn in_frames(mut first: web::Dashboard) -> Vec<web::Dashboard> {
    let mut rest = first
        .sessions
        .split_off(first.sessions.len().min(FRAME_SESSIONS));
    let (now_ms, hub, you) = (first.now_ms, first.hub.clone(), first.you.clone());
    let mut frames = vec![first];
    while !rest.is_empty() {
        let after = rest.split_off(rest.len().min(FRAME_SESSIONS));
        frames.push(web::Dashboard {
            sessions: std::mem::replace(&mut rest, after),
            partial: true,
            now_ms,
            hub: hub.clone(),
            you: you.clone(),
            ..web::Dashboard::default()
        });
    }
    frames
}

/// Runs one dashboard request for `who`; failures are reported in the
/// result.
async fn act(state: &WebState, frame: &[u8], who: &str) -> web::ActionResult {
    let hub = &state.hub;
    let (id, action) = match decode_action(frame) {
        Ok(decoded) => decoded,
        Err((id, error)) => return failed(id, error),
    };
    let outcome = match action {
        Action::Spawn(spawn) => spawn_session(hub, spawn, who).await,
        Action::Kill(kill) => {
            let signal = if kill.signal.is_empty() {
                "HUP".to_owned()
            } else {
                kill.signal
            };
            hub.kill(&kill.session, &signal)
                .await
                .map(|()| kill.session)
                .map_err(|e| stream::ending(&e).1)
        }
        Action::Rename(rename) => hub
            .rename(&rename.session, &rename.new_name)
            .await
            .map(|s| s.address())
            .map_err(|e| stream::ending(&e).1),
        Action::Remove(remove) => hub
            .remove(&remove.session, remove.force)
            .await
            .map(|()| remove.session)
            .map_err(|e| stream::ending(&e).1),
        Action::CreateShare(r) => {
            let made = state.create(&r.session, r.ttl_seconds, who).await;
            return shared(id, made);
        }
        Action::RevokeShare(r) => return shared(id, state.revoke(&r.id).await),
        Action::RevokeGrant(r) => {
            return match state.grants.revoke(&r.id) {
                Ok(grant) => {
                    tracing::info!(grant = %grant.id, by = %who, "grant revoked");
                    web::ActionResult {
                        id,
                        grant: Some(grpc::grants::grant_info(&grant)),
                        ..Default::default()
                    }
                }
                Err(e) => failed(id, e.to_string()),
            };
        }
    };
    match outcome {
        Ok(session) => web::ActionResult {
            id,
            session,
            ..Default::default()
        },
        Err(error) => failed(id, error),
    }
}

/// One frame from the dashboard as its id and action; an undecodable or
/// empty frame is the id to answer (0 if unknown) and why. Pure, so the
/// fuzz harness can call it.
pub fn decode_action(frame: &[u8]) -> Result<(u32, Action), (u32, String)> {
    let request = web::DashboardRequest::decode(frame)
        .map_err(|e| (0, format!("undecodable dashboard request: {e}")))?;
    let id = request.id;
    request
        .action
        .map(|action| (id, action))
        .ok_or_else(|| (id, "empty dashboard request".to_owned()))
}

fn shared(id: u32, result: Result<pb::ShareInfo, ShareError>) -> web::ActionResult {
    match result {
        Ok(share) => web::ActionResult {
            id,
            session: share.session.clone(),
            share: Some(share),
            ..Default::default()
        },
        Err(e) => failed(id, e.to_string()),
    }
}

fn failed(id: u32, error: String) -> web::ActionResult {
    web::ActionResult {
        id,
        error,
        ..Default::default()
    }
}

async fn spawn_session(hub: &Hub, r: pb::SpawnRequest, who: &str) -> Result<String, String> {
    let spec = SpawnSpec {
        created_by: who.to_owned(),
        ..unmap::spawn_spec(r)
    };
    hub.spawn(spec)
        .await
        .map(|s| s.address())
        .map_err(|e| stream::ending(&e).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(i: usize) -> pb::SessionInfo {
        pb::SessionInfo {
            spoke: "s".to_owned(),
            id: format!("{i:04}"),
            created_at_ms: i as i64,
            ..pb::SessionInfo::default()
        }
    }

    #[test]
    fn a_large_push_goes_in_frames_a_page_puts_back_together() {
        let whole = web::Dashboard {
            sessions: (0..600).map(session).collect(),
            spokes: vec![pb::SpokeInfo::default()],
            hub: "hub".to_owned(),
            ..web::Dashboard::default()
        };
        let frames = in_frames(whole);
        let sizes: Vec<_> = frames.iter().map(|f| f.sessions.len()).collect();
        assert_eq!(sizes, [256, 256, 88]);
        assert!(!frames[0].partial && frames[0].spokes.len() == 1);
        assert!(
            frames[1..]
                .iter()
                .all(|f| f.partial && !f.spokes_changed && f.hub == "hub")
        );
        let mut page = Vec::new();
        for f in frames {
            vtr_shared::cards::apply(&mut page, f.sessions, &f.removed);
        }
        let expected: Vec<_> = (0..600).map(session).collect();
        assert_eq!(page, expected);
    }

    #[test]
    fn a_small_push_is_one_frame() {
        let frames = in_frames(web::Dashboard {
            sessions: (0..3).map(session).collect(),
            ..web::Dashboard::default()
        });
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].sessions.len(), 3);
    }
}
