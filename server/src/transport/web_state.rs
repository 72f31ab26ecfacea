//! What the web app's sockets and the gRPC `Shares` service work on: the
//! hub, its share links (shown with the session's current name, the link's
//! URL and its live viewers), who is watching, and the public URL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use vtr_shared::proto as pb;

use crate::core::Coordinator;
use crate::hub::Hub;
use crate::hub::SpokeState;
use crate::hub::presence::Presence;
use crate::hub::share::{Record, ShareError, Shares};

/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct WebState {
    pub hub: Hub,
    pub shares: Arc<Shares>,
    /// Scoped grants for agents, and their audit log.
    pub grants: Arc<crate::hub::grants::Grants>,
    pub presence: Arc<Presence>,
    /// Where browsers reach the hub, e.g. `https://vtr.example.net`.
    pub public_url: Arc<str>,
    /// Session previews shared by every dashboard.
    pub previews: Arc<crate::transport::web::previews::Previews>,
}

impl WebState {
    /// A link to `session` (any address the hub resolves) for `ttl_seconds`.
    pub async fn create(
        &self,
        session: &str,
        ttl_seconds: u64,
        created_by: &str,
    ) -> Result<pb::ShareInfo, ShareError> {
        let summary = self.hub.info(session).await?;
        let record = self
            .shares
            .create(&summary, Duration::from_secs(ttl_seconds), created_by)?;
        Ok(self.info(record, summary.address()))
    }

    /// Links not yet expired, newest first; `session` (`spoke:id`) keeps
    /// only that session's. A link whose session its spoke no longer has
    /// is marked `session_gone`.
    pub async fn list(&self, session: Option<&str>) -> Result<Vec<pb::ShareInfo>, ShareError> {
        let records = self.shares.list()?;
        let Ok(sessions) = self.hub.list().await else {
            // Nothing known about sessions now: names as made, none gone.
            return Ok(records
                .into_iter()
                .filter(|r| session.is_none_or(|s| r.session == s))
                .map(|r| {
                    let label = r.label.clone();
                    self.info(r, label)
                })
                .collect());
        };
        let names: HashMap<String, String> = sessions
            .iter()
            .map(|s| (s.id_address(), s.address()))
            .collect();
        // Only a spoke the hub reaches now can tell that a session is gone.
        let reached: HashSet<String> = self
            .hub
            .spokes()
            .into_iter()
            .filter(|s| matches!(s.state, SpokeState::Healthy | SpokeState::Degraded))
            .map(|s| s.name)
            .collect();
        Ok(records
            .into_iter()
            .filter(|r| session.is_none_or(|s| r.session == s))
            .map(|r| match names.get(&r.session) {
                Some(label) => {
                    let label = label.clone();
                    self.info(r, label)
                }
                None => {
                    let gone = r
                        .session
                        .split_once(':')
                        .is_some_and(|(spoke, _)| reached.contains(spoke));
                    let label = r.label.clone();
                    pb::ShareInfo {
                        session_gone: gone,
                        ..self.info(r, label)
                    }
                }
            })
            .collect())
    }

    pub async fn revoke(&self, id: &str) -> Result<pb::ShareInfo, ShareError> {
        let record = self.shares.revoke(id)?;
        let label = record.label.clone();
        Ok(self.info(record, label))
    }

    fn info(&self, record: Record, label: String) -> pb::ShareInfo {
        let token = self.shares.token(&record);
        pb::ShareInfo {
            url: format!("{}/share/{token}", self.public_url.trim_end_matches('/')),
            token,
            session: label,
            created_at_ms: record.created_ms,
            expires_at_ms: record.expires_ms,
            revoked_at_ms: record.revoked_ms.unwrap_or(0),
            viewers: self.presence.link_viewers(&record.id),
            created_by: record.created_by,
            id: record.id,
            session_gone: false,
        }
    }
}
