//! The options of the two servers, `vtr hub` and `vtr spoke`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::duration;

#[derive(Debug, Args)]
pub struct SpokeArgs {
    /// Spoke name [default: the host name].
    #[arg(long, env = "VTR_NAME")]
    pub name: Option<String>,
    /// Also serve gRPC on TCP (e.g. 127.0.0.1:4621; port 0 picks one).
    #[arg(long, env = "VTR_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// TLS certificate (PEM) for --listen; required off loopback.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The bearer token --listen requires [default: `token` in the state
    /// directory, made on first start, mode 0600]. Must not be readable
    /// by others.
    #[arg(
        long = "listen-token-file",
        value_name = "FILE",
        env = "VTR_LISTEN_TOKEN_FILE"
    )]
    pub listen_token_file: Option<PathBuf>,
    /// DANGEROUS: --listen takes no token, so every local user controls
    /// this spoke's shells. Loopback addresses only.
    #[arg(long, conflicts_with = "listen_token_file")]
    pub no_token: bool,
    /// Directory of the spoke's state: its --listen token
    /// [default: $XDG_STATE_HOME/vtr/spoke-NAME, else ~/.local/state/vtr/spoke-NAME].
    #[arg(long, env = "VTR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Join this hub through a tunnel the spoke holds open (no listener
    /// needed), e.g. http://127.0.0.1:4620. The token to present is
    /// --token-file (or federation.token_file).
    #[arg(long, env = "VTR_HUB", value_name = "URL")]
    pub hub: Option<String>,
    /// A label shown by the hub, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Settings of the sessions a spoke (or a hub's embedded spoke) runs.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Scrollback lines per session [default: 10000].
    #[arg(long, env = "VTR_SCROLLBACK")]
    pub scrollback: Option<usize>,
    /// Output log per session, in bytes (how far a subscriber can resume)
    /// [default: 4194304].
    #[arg(long, env = "VTR_LOG_BYTES")]
    pub log_bytes: Option<usize>,
    /// Silence after which a session counts as idle [default: 5s].
    #[arg(long, env = "VTR_IDLE_AFTER", value_parser = duration::parse)]
    pub idle_after: Option<std::time::Duration>,
    /// How far, in bytes, the terminal state may lag the live stream during
    /// an output burst before the PTY is held back. Subscribers get a burst
    /// first; the terminal state follows on idle CPU, holding up to this
    /// much output per session meanwhile [default: 134217728].
    #[arg(long, env = "VTR_PARSE_BACKLOG")]
    pub parse_backlog: Option<usize>,
    /// Start bash and zsh as they are, without vtr's prompt marks (OSC
    /// 133) that track their commands for `vtr run` and `vtr history`.
    #[arg(long, env = "VTR_NO_SHELL_INTEGRATION")]
    pub no_shell_integration: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HubCommand {
    #[command(subcommand)]
    pub action: Option<HubAction>,
    #[command(flatten)]
    pub args: HubArgs,
}

#[derive(Debug, Subcommand)]
pub enum HubAction {
    /// Print the URL that signs a browser in to this hub (it carries the
    /// hub's token: keep it to yourself). Takes the hub's --name,
    /// --state-dir, --listen, --public-url and --listen-token-file.
    Url(HubArgs),
    /// Forget which key a tunnelled spoke name belongs to, so the next
    /// spoke to join under it (e.g. the same machine rebuilt) takes it.
    /// Takes the hub's --name and --state-dir.
    ForgetSpoke {
        /// The spoke's name.
        spoke: String,
        #[command(flatten)]
        args: HubArgs,
    },
}

#[derive(Debug, Args)]
pub struct HubArgs {
    /// Hub name, also its embedded spoke's [default: the host name].
    #[arg(long, env = "VTR_NAME")]
    pub name: Option<String>,
    /// TCP address for gRPC, /healthz and /metrics (port 0 picks one)
    /// [default: 127.0.0.1:4620].
    #[arg(long, env = "VTR_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Run no embedded spoke: only the spokes of the configuration.
    #[arg(long)]
    pub no_local_spoke: bool,
    /// The token the TCP port requires (browsers sign in with it, programs
    /// send it as a bearer token) [default: `token` in the state directory,
    /// made on first start, mode 0600]. Must not be readable by others.
    #[arg(
        long = "listen-token-file",
        value_name = "FILE",
        env = "VTR_LISTEN_TOKEN_FILE"
    )]
    pub listen_token_file: Option<PathBuf>,
    /// DANGEROUS: require no token on the TCP port. Every local user and
    /// every program on this machine then controls the hub's shells.
    /// Loopback addresses only.
    #[arg(long, conflicts_with = "listen_token_file")]
    pub no_token: bool,
    /// Directory of the hub's state: its token, share links (SQLite) and
    /// the secret that signs them (created on first start, mode 0600)
    /// [default: $XDG_STATE_HOME/vtr/hub-NAME, else ~/.local/state/vtr/hub-NAME].
    #[arg(long, env = "VTR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The URL browsers reach this hub at, for share links (e.g. behind a
    /// proxy: https://vtr.example.net) [default: http://LISTEN-ADDRESS].
    #[arg(long, env = "VTR_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// TLS certificate chain (PEM) for --listen: HTTPS and gRPC over TLS
    /// on the hub's port.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "VTR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "VTR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// A TLS proxy in front terminates HTTPS: allows a non-loopback
    /// --listen without TLS here, and marks sign-in cookies Secure.
    #[arg(long, env = "VTR_BEHIND_TLS_PROXY")]
    pub behind_tls_proxy: bool,
    /// Forget a tunnelled spoke this long after its tunnel closed: its
    /// sessions stop being listed as stale (its name stays pinned to its
    /// key; see `vtr hub forget-spoke`).
    #[arg(long, default_value = "24h", value_parser = duration::parse, value_name = "DURATION")]
    pub forget_spokes_after: std::time::Duration,
    /// Also serve the hub on this Unix socket (mode 0600, in a private
    /// directory) for `sudo tailscale serve --bg unix:PATH` to forward to:
    /// requests there are let in as the Tailscale user (tailscale:LOGIN)
    /// that `tailscale serve` names, without the token. Tailscale's
    /// identity headers are believed nowhere else.
    #[arg(long, env = "VTR_TAILSCALE_SOCKET", value_name = "PATH")]
    pub tailscale_socket: Option<PathBuf>,
    #[command(flatten)]
    pub session: SessionArgs,
}

fn parse_public_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("{text:?} does not start with http:// or https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
        return Err(format!(
            "{text:?} is not a base URL (scheme://host[:port][/path])"
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    vtr_shared::address::validate_name(key).map_err(|e| format!("label key {key:?}: {e}"))?;
    if value.len() > 256 {
        return Err(format!("label value is {} bytes, limit 256", value.len()));
    }
    Ok((key.to_owned(), value.to_owned()))
}
