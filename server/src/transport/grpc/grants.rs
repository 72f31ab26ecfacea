//! `vtr.v1.Grants`: the hub's scoped grants and their audit log, for the
//! hub's owner. The front door never lets a grant's own token this far.

use std::time::Duration;

use tonic::{Code, Request, Response, Status};
use vtr_shared::proto as pb;

use super::auth::Identity;
use crate::core::Coordinator;
use crate::hub::grants::{AuditEntry, Grant, GrantError, Grants, NewGrant, Scope, Targets};
use crate::transport::web_state::WebState;

pub struct GrantsService {
    state: WebState,
}

impl GrantsService {
    pub fn new(state: WebState) -> Self {
        GrantsService { state }
    }
}

/// Who made a grant over the hub's Unix socket (the hub's own user).
const SOCKET_USER: &str = "owner";

#[tonic::async_trait]
impl super::pb::grants_server::Grants for GrantsService {
    async fn create_grant(
        &self,
        request: Request<pb::CreateGrantRequest>,
    ) -> Result<Response<pb::GrantInfo>, Status> {
        let created_by = request
            .extensions()
            .get::<Identity>()
            .map_or_else(|| SOCKET_USER.to_owned(), |i| i.0.clone());
        let r = request.into_inner();
        let scope = scope(r.scope)?;
        let targets = match (r.spoke.is_empty(), r.sessions.is_empty()) {
            (false, true) => {
                let known = self.state.hub.spokes();
                if !known.iter().any(|s| s.name == r.spoke) {
                    let names: Vec<&str> = known.iter().map(|s| s.name.as_str()).collect();
                    return Err(Status::not_found(format!(
                        "no spoke named {:?} (spokes: {})",
                        r.spoke,
                        names.join(", ")
                    )));
                }
                Targets::Spoke(r.spoke)
            }
            (true, _) => {
                if r.sessions.len() > crate::hub::grants::MAX_TARGETS {
                    return Err(GrantError::Invalid(format!(
                        "a grant names at most {} sessions; {} asked",
                        crate::hub::grants::MAX_TARGETS,
                        r.sessions.len()
                    ))
                    .into());
                }
                let mut sessions = Vec::with_capacity(r.sessions.len());
                for address in &r.sessions {
                    let s = self.state.hub.info(address).await?;
                    let id = s.id_address();
                    if !sessions.iter().any(|(known, _)| *known == id) {
                        sessions.push((id, s.address()));
                    }
                }
                Targets::Sessions(sessions)
            }
            (false, false) => {
                return Err(Status::invalid_argument(
                    "a grant names sessions or a spoke, not both",
                ));
            }
        };
        let made = create(
            &self.state.grants,
            NewGrant {
                scope,
                targets,
                ttl: Duration::from_secs(r.ttl_seconds),
                note: r.note,
                created_by,
            },
        )?;
        Ok(Response::new(made))
    }

    async fn list_grants(
        &self,
        _: Request<pb::ListGrantsRequest>,
    ) -> Result<Response<pb::GrantList>, Status> {
        let grants = self.state.grants.list()?.iter().map(grant_info).collect();
        Ok(Response::new(pb::GrantList { grants }))
    }

    async fn revoke_grant(
        &self,
        request: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::GrantInfo>, Status> {
        let grant = self.state.grants.revoke(&request.into_inner().id)?;
        tracing::info!(grant = %grant.id, "grant revoked");
        Ok(Response::new(grant_info(&grant)))
    }

    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::AuditList>, Status> {
        let r = request.into_inner();
        let grant = (!r.grant.is_empty()).then_some(r.grant.as_str());
        let entries = self
            .state
            .grants
            .audit()
            .read(grant, r.limit as usize)
            .await
            .map_err(|e| GrantError::Store(e.to_string()))?
            .iter()
            .map(audit_entry)
            .collect();
        Ok(Response::new(pb::AuditList { entries }))
    }
}

/// The scope a request names.
pub fn scope(scope: i32) -> Result<Scope, GrantError> {
    match pb::GrantScope::try_from(scope) {
        Ok(pb::GrantScope::Observe) => Ok(Scope::Observe),
        Ok(pb::GrantScope::Control) => Ok(Scope::Control),
        _ => Err(GrantError::Invalid(
            "a grant's scope is observe or control".into(),
        )),
    }
}

/// Makes a grant (here or from a web pane); its info carries the token,
/// which is shown this once.
pub fn create(grants: &Grants, new: NewGrant) -> Result<pb::GrantInfo, GrantError> {
    let (grant, token) = grants.create(new)?;
    let (scope, reach) = (grant.scope.name(), grant.reach());
    tracing::info!(grant = %grant.id, scope, %reach, by = %grant.created_by, "grant made");
    let mut info = grant_info(&grant);
    info.token = token;
    Ok(info)
}

pub fn grant_info(g: &Grant) -> pb::GrantInfo {
    let (sessions, labels, spoke) = match &g.targets {
        Targets::Sessions(s) => (
            s.iter().map(|(id, _)| id.clone()).collect(),
            s.iter().map(|(_, label)| label.clone()).collect(),
            String::new(),
        ),
        Targets::Spoke(name) => (Vec::new(), Vec::new(), name.clone()),
    };
    pb::GrantInfo {
        id: g.id.clone(),
        scope: match g.scope {
            Scope::Observe => pb::GrantScope::Observe,
            Scope::Control => pb::GrantScope::Control,
        } as i32,
        sessions,
        labels,
        spoke,
        note: g.note.clone(),
        token: String::new(),
        created_at_ms: g.created_ms,
        expires_at_ms: g.expires_ms,
        revoked_at_ms: g.revoked_ms.unwrap_or(0),
        created_by: g.created_by.clone(),
    }
}

fn audit_entry(e: &AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        seq: e.seq,
        at_ms: e.at_ms,
        grant: e.grant.clone(),
        via: e.via.to_owned(),
        call: e.call.clone(),
        action: e.action.to_owned(),
        session: e.session.clone(),
        outcome: e.outcome.name().to_owned(),
        detail: e.detail.clone(),
        duration_ms: e.duration_ms,
    }
}

impl From<GrantError> for Status {
    fn from(e: GrantError) -> Self {
        let code = match &e {
            GrantError::Session(e) => return e.clone().into(),
            GrantError::Ttl(_) | GrantError::Invalid(_) | GrantError::Malformed => {
                Code::InvalidArgument
            }
            GrantError::TooMany => Code::ResourceExhausted,
            GrantError::NoGrant(_) | GrantError::Unknown => Code::NotFound,
            GrantError::Expired | GrantError::Revoked => Code::FailedPrecondition,
            GrantError::Store(_) => {
                tracing::error!("{e}");
                return Status::internal("internal error (see the hub's log)");
            }
        };
        Status::new(code, e.to_string())
    }
}
