//! The tools as an MCP server (the `rmcp` SDK): Streamable HTTP for a
//! hub's `/mcp`, stateless (every POST stands alone, so nothing is kept
//! per client), and stdio for `vtr mcp`.

use std::sync::Arc;

use axum::http::request::Parts;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::tools::{self, Backend, Spokes};
use crate::hub::grants::{Grant, GrantPass, Guarded, Scope, Via};
use crate::transport::grpc::auth::Identity;

const INSTRUCTIONS: &str = "vtr runs real terminals (PTY sessions) on many machines (spokes). \
Address a session as spoke:name. To run a shell command and get its exit code, use `run` on a \
bash or zsh session (spawn one with no command). For interactive programs, `send_text` / \
`send_keys`, then `wait_for` a regex or `wait_idle`, then `read_screen`. `read_output` reads \
the raw stream by offset; `grep` searches scrollback.";

/// The MCP server: the tools over one backend.
#[derive(Clone)]
pub struct Server {
    backend: Backend,
    /// Who calls when the transport does not say (stdio: this user).
    caller: String,
    /// Served over HTTP, behind the front door (which says who calls).
    over_http: bool,
}

impl Server {
    pub fn new(backend: Backend, caller: String) -> Self {
        Server {
            backend,
            caller,
            over_http: false,
        }
    }
}

/// The tools; for a grant that may only observe, the read-only ones.
fn tool_list(grant: Option<&Grant>) -> Vec<Tool> {
    let observe_only = grant.is_some_and(|g| g.scope == Scope::Observe);
    tools::specs()
        .into_iter()
        .filter(|spec| !observe_only || spec.hints.read_only)
        .map(|spec| {
            let schema: JsonObject = match spec.schema {
                Value::Object(map) => map,
                _ => JsonObject::new(),
            };
            let hints = ToolAnnotations::new()
                .read_only(spec.hints.read_only)
                .destructive(spec.hints.destructive)
                .idempotent(spec.hints.idempotent)
                // Sessions run real programs on real machines.
                .open_world(true);
            Tool::new(spec.name, spec.description, schema).with_annotations(hints)
        })
        .collect()
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("vtr", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let grant = grant_of(&context).map(|pass| pass.grant);
        Ok(ListToolsResult::with_all_items(tool_list(grant.as_ref())))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tool_list(None).into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !tools::known(&request.name) {
            let name = crate::core::limits::bounded_text(request.name.as_bytes(), 128);
            return Err(ErrorData::invalid_params(
                format!("no tool named {name:?}"),
                None,
            ));
        }
        // Over HTTP, who the front door let in; over stdio, this user.
        let who = context
            .extensions
            .get::<Parts>()
            .and_then(|p| p.extensions.get::<Identity>())
            .map_or_else(|| self.caller.clone(), |i| i.0.clone());
        // Over HTTP the front door's word is needed: without it, refuse
        // rather than act as the owner.
        if self.over_http && context.extensions.get::<Parts>().is_none() {
            return Err(ErrorData::internal_error("no request context", None));
        }
        // A grant's calls go through the hub as the grant may use it.
        let guard = grant_of(&context).map(|pass| {
            let coordinator = self.backend.coordinator.clone();
            Arc::new(pass.guard(coordinator, Via::Mcp, &request.name))
        });
        let backend = match &guard {
            Some(guard) => Backend {
                coordinator: guard.clone(),
                spokes: Arc::new(GrantSpokes {
                    all: self.backend.spokes.clone(),
                    guard: guard.clone(),
                }),
            },
            None => self.backend.clone(),
        };
        let args = Value::Object(request.arguments.unwrap_or_default());
        // A client that goes away (or cancels) stops the call: waits and
        // runs hold no spoke call for nobody.
        let answer = tokio::select! {
            answer = tools::call(&backend, &who, &request.name, args) => answer,
            () = context.ct.cancelled() => Err("cancelled by the client".to_owned()),
        };
        // A call refused before it acted (bad arguments) is recorded too,
        // with why.
        if let (Some(guard), Err(message)) = (&guard, &answer) {
            guard.unacted(message).await;
        }
        let result = match answer {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(result.into())
    }
}

/// The grant a request over HTTP came with (the front door put it there).
fn grant_of(context: &RequestContext<RoleServer>) -> Option<GrantPass> {
    context
        .extensions
        .get::<Parts>()
        .and_then(|p| p.extensions.get::<GrantPass>())
        .cloned()
}

/// The spokes a grant touches, and no others (the call recorded).
struct GrantSpokes {
    all: Arc<dyn Spokes>,
    guard: Arc<Guarded>,
}

#[async_trait::async_trait]
impl Spokes for GrantSpokes {
    async fn spokes(&self) -> Result<Vec<vtr_shared::proto::SpokeInfo>, String> {
        let all = self
            .guard
            .read_elsewhere("spokes", self.all.spokes())
            .await?;
        let grant = self.guard.grant();
        Ok(all
            .into_iter()
            .filter(|s| grant.touches_spoke(&s.name))
            .collect())
    }
}

/// `/mcp` for a hub's router: the front door in front has checked the
/// Host, the origin and the caller's identity already (so the SDK's own
/// Host check, which knows only loopback names, is off: mount this only
/// behind the front door).
pub fn http_service(
    server: Server,
    shutdown: CancellationToken,
) -> StreamableHttpService<Server, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_cancellation_token(shutdown);
    let server = Server {
        over_http: true,
        ..server
    };
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

/// Serves the tools on stdin and stdout until the client closes them.
pub async fn serve_stdio(server: Server) -> anyhow::Result<()> {
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
