//! `vtr spoke` and `vtr hub`: settings from flags and `VTR_*` variables
//! (clap) over the configuration file over defaults, then run until a
//! signal.

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::exit::ExitCode;
use super::{HubAction, HubArgs, HubCommand, SessionArgs, SpokeArgs, TargetArgs};
use crate::config::SpokeConfig;
use crate::core::SessionConfig;
use crate::transport::grpc::auth::Token;
use crate::transport::hub_server::{HubOptions, TOKEN_FILE, run_hub, sign_in_url};
use crate::transport::spoke_server::{SpokeOptions, TlsFiles, run_spoke};
use crate::transport::tunnel::TunnelOptions;

/// The hub's TCP address unless configured.
const DEFAULT_HUB_LISTEN: &str = "127.0.0.1:4620";

pub async fn spoke(args: SpokeArgs, target: TargetArgs) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(target.config.as_deref())?;
    let file = config.spoke;
    let session = session_config(&args.session, &file)?;
    let name = args
        .name
        .or(file.name)
        .unwrap_or_else(crate::paths::host_name);
    let hub = args.hub.or(config.federation.hub);
    if hub.is_none() && target.token_file.is_some() {
        anyhow::bail!(
            "--token-file is the hub's token, for a spoke that joins one with --hub; \
             the token this spoke's --listen port requires is --listen-token-file"
        );
    }
    let tunnel = match hub {
        Some(hub) => Some(TunnelOptions {
            hub,
            name: name.clone(),
            // Filled in by the spoke: its own instance id and key.
            instance: String::new(),
            key: None,
            token: target
                .token_file
                .or(config.federation.token_file)
                .as_deref()
                .map(Token::from_file)
                .transpose()?,
        }),
        None => None,
    };
    let opts = SpokeOptions {
        state_dir: args
            .state_dir
            .unwrap_or_else(|| crate::paths::default_spoke_state_dir(&name)),
        no_token: args.no_token,
        name,
        socket: target
            .socket
            .or(file.socket)
            .unwrap_or_else(crate::paths::default_spoke_socket),
        listen: args.listen.or(file.listen),
        tls: match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => anyhow::bail!("a TLS certificate needs its key and the key its certificate"),
        },
        token_file: args.listen_token_file.or(file.listen_token_file),
        labels: args.labels,
        tunnel,
        session,
    };
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    run_spoke(opts, shutdown).await?;
    Ok(ExitCode::Ok)
}

pub async fn hub(command: Box<HubCommand>, target: TargetArgs) -> anyhow::Result<ExitCode> {
    let command = *command;
    match command.action {
        Some(HubAction::Url(args)) => return hub_url(args, target),
        Some(HubAction::ForgetSpoke { spoke, args }) => return forget_spoke(&spoke, args, target),
        None => {}
    }
    let opts = hub_options(command.args, target)?;
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    run_hub(opts, shutdown).await?;
    Ok(ExitCode::Ok)
}

/// `vtr hub url`: the sign-in URL of the hub these settings describe.
fn hub_url(args: HubArgs, target: TargetArgs) -> anyhow::Result<ExitCode> {
    let opts = hub_options(args, target)?;
    if opts.no_token {
        outln!("http://{}/", opts.listen);
        return Ok(ExitCode::Ok);
    }
    let path = opts
        .token_file
        .clone()
        .unwrap_or_else(|| opts.state_dir.join(TOKEN_FILE));
    if !path.exists() {
        anyhow::bail!(
            "no token at {}: start the hub once (it makes one), or pass its --listen-token-file \
             and --state-dir",
            path.display()
        );
    }
    let token = Token::from_file(&path)?;
    let base = opts.public_url.clone().unwrap_or_else(|| {
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", opts.listen)
    });
    outln!("{}", sign_in_url(&base, &token));
    Ok(ExitCode::Ok)
}

/// `vtr hub forget-spoke NAME`: unpins a tunnelled spoke's name.
fn forget_spoke(spoke: &str, args: HubArgs, target: TargetArgs) -> anyhow::Result<ExitCode> {
    let opts = hub_options(args, target)?;
    if !opts.state_dir.join(crate::hub::state_db::FILE).exists() {
        anyhow::bail!(
            "no hub state in {}: pass the hub's --name or --state-dir",
            opts.state_dir.display()
        );
    }
    let pins = crate::hub::pins::Pins::open(&opts.state_dir)?;
    if pins.forget(spoke)? {
        outln!("forgot spoke {spoke}'s key: the next spoke to join as {spoke} takes the name");
        Ok(ExitCode::Ok)
    } else {
        eprintln!("vtr: no spoke named {spoke} has joined this hub");
        Ok(ExitCode::NotFound)
    }
}

fn hub_options(args: HubArgs, target: TargetArgs) -> anyhow::Result<HubOptions> {
    let config = crate::config::load(target.config.as_deref())?;
    let file = config.hub;
    let local_spoke = !args.no_local_spoke && file.local_spoke.unwrap_or(true);
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_HUB_LISTEN.parse()?,
    };
    let name = args
        .name
        .or(file.name)
        .unwrap_or_else(crate::paths::host_name);
    Ok(HubOptions {
        state_dir: args
            .state_dir
            .unwrap_or_else(|| crate::paths::default_state_dir(&name)),
        public_url: args.public_url,
        behind_tls_proxy: args.behind_tls_proxy,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        },
        tailscale_socket: args.tailscale_socket,
        name,
        socket: target
            .socket
            .or(file.socket)
            .unwrap_or_else(crate::paths::default_hub_socket),
        listen,
        token_file: args.listen_token_file.or(file.listen_token_file),
        no_token: args.no_token,
        forget_spokes_after: args.forget_spokes_after,
        tunnel_token_file: target.token_file.or(config.federation.token_file),
        local_spoke: if local_spoke {
            Some(session_config(&args.session, &config.spoke)?)
        } else {
            None
        },
        dialled: config.federation.spokes,
    })
}

/// Session settings: flag or variable, else the `[spoke]` section, else
/// the default.
fn session_config(args: &SessionArgs, file: &SpokeConfig) -> anyhow::Result<SessionConfig> {
    let defaults = SessionConfig::default();
    let idle_after = match (args.idle_after, &file.idle_after) {
        (Some(flag), _) => flag,
        (None, Some(text)) => crate::config::duration::parse(text)
            .map_err(|e| anyhow::anyhow!("config spoke.idle_after: {e}"))?,
        (None, None) => defaults.idle_after,
    };
    Ok(SessionConfig {
        scrollback: args
            .scrollback
            .or(file.scrollback)
            .unwrap_or(defaults.scrollback),
        log_capacity: args
            .log_bytes
            .or(file.log_bytes)
            .unwrap_or(defaults.log_capacity),
        idle_after,
        parse_backlog: args
            .parse_backlog
            .or(file.parse_backlog)
            .unwrap_or(defaults.parse_backlog)
            .max(1),
        shell_integration: if args.no_shell_integration {
            None
        } else {
            Some(shell_files()?)
        },
        ..defaults
    })
}

/// The shell integration's startup files, written for this version into
/// the private runtime folder.
fn shell_files() -> anyhow::Result<std::path::PathBuf> {
    let base = crate::paths::runtime_dir();
    crate::paths::ensure_private_dir(&base)?;
    let dir = base.join(concat!("shell-", env!("CARGO_PKG_VERSION")));
    crate::core::session::shell::install(&dir)
        .with_context(|| format!("writing the shell integration into {}", dir.display()))?;
    Ok(dir)
}

/// SIGINT / SIGTERM: shut down cleanly.
/// SIGINT and SIGTERM stop the server cleanly (sessions end, sockets are
/// removed). SIGHUP, which a closing terminal or `systemctl kill -s HUP`
/// sends, is logged and otherwise ignored: by default it would end every
/// session with the server, and there is no configuration to reload (a
/// restart applies it).
/// The handlers are installed before this returns, so a signal sent once
/// the server says it is ready finds them.
fn spawn_signal_handler(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = int.recv() => break,
                _ = term.recv() => break,
                _ = hup.recv() => tracing::info!(
                    "SIGHUP: nothing to reload; restart to apply a changed configuration"
                ),
            }
        }
        shutdown.cancel();
    });
}
