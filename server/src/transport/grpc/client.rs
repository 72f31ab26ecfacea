//! Connecting to a spoke (or hub): a Unix socket, or TCP with optional TLS
//! and bearer token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use hyper_util::rt::TokioIo;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Uri};

use super::auth::{Attach, Token};
use super::pb::{federation_client, grants_client, shares_client, vtr_client};
use super::service::MAX_MESSAGE_BYTES;

pub type VtrClient = vtr_client::VtrClient<InterceptedService<Channel, Attach>>;
pub type FederationClient =
    federation_client::FederationClient<InterceptedService<Channel, Attach>>;
pub type SharesClient = shares_client::SharesClient<InterceptedService<Channel, Attach>>;
pub type GrantsClient = grants_client::GrantsClient<InterceptedService<Channel, Attach>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a client connects.
#[derive(Debug, Clone)]
pub enum Target {
    Unix(PathBuf),
    Tcp {
        /// `http://host:port` or `https://host:port`.
        url: String,
        token: Option<Token>,
        /// PEM CA bundle that signed the server's certificate (https only).
        ca_file: Option<PathBuf>,
    },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "{}", path.display()),
            Target::Tcp { url, .. } => f.write_str(url),
        }
    }
}

/// A raw channel to the target (for health checks and the generated client).
pub async fn channel(target: &Target) -> anyhow::Result<Channel> {
    match target {
        Target::Unix(path) => {
            if !path.exists() {
                bail!(
                    "no socket at {} (is `vtr spoke` or `vtr hub` running? choose one with \
                     --socket or VTR_SOCKET)",
                    path.display()
                );
            }
            let path = path.clone();
            // The URI is required by the API but unused: the connector dials the socket.
            Endpoint::from_static("http://localhost")
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
                .with_context(|| format!("connecting to {}", target))
        }
        Target::Tcp { url, ca_file, .. } => tcp_endpoint(url, ca_file.as_deref())?
            .connect()
            .await
            .with_context(|| format!("connecting to {url}")),
    }
}

/// A TCP channel that connects on first use and reconnects after a
/// failure, with HTTP/2 keepalives so a dead peer is noticed. For a hub's
/// long-lived links to its spokes.
pub fn lazy_channel(url: &str, ca_file: Option<&Path>) -> anyhow::Result<Channel> {
    Ok(tcp_endpoint(url, ca_file)?
        .http2_keep_alive_interval(crate::transport::LINK_PING_AFTER)
        .keep_alive_timeout(crate::transport::LINK_PONG_WITHIN)
        .keep_alive_while_idle(true)
        .connect_lazy())
}

fn tcp_endpoint(url: &str, ca_file: Option<&Path>) -> anyhow::Result<Endpoint> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("bad address {url:?}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        let ca_file = ca_file
            .context("https needs a CA file: the PEM CA that signed the server's certificate")?;
        let pem = std::fs::read(ca_file)
            .with_context(|| format!("reading CA file {}", ca_file.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .context("TLS configuration")?;
    } else if !url.starts_with("http://") {
        bail!("address {url:?} must start with http:// or https://");
    }
    Ok(endpoint)
}

/// A token must not cross a network in the clear: `http://` is for
/// loopback addresses only when a token goes with it.
pub fn refuse_plain_http_off_loopback(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        bail!("address {url:?} holds user info (`...@`); give http://HOST:PORT");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "refusing to send a token over plain http to {host}, which is not a loopback \
             address: use https:// (with a CA file)"
        );
    }
    Ok(())
}

/// The generated client over `channel`, with the token (if any) attached
/// to every call.
pub fn client(channel: Channel, token: Option<&Token>) -> anyhow::Result<VtrClient> {
    Ok(vtr_client(channel, Attach::new(token)?))
}

fn vtr_client(channel: Channel, attach: Attach) -> VtrClient {
    vtr_client::VtrClient::with_interceptor(channel, attach)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// A channel to `target` and the interceptor that sends its token.
async fn open(target: &Target) -> anyhow::Result<(Channel, Attach)> {
    let channel = channel(target).await?;
    let token = match target {
        Target::Tcp { token, url, .. } => {
            if token.is_some() {
                refuse_plain_http_off_loopback(url)?;
            }
            token.as_ref()
        }
        Target::Unix(_) => None,
    };
    Ok((channel, Attach::new(token)?))
}

pub async fn connect(target: &Target) -> anyhow::Result<VtrClient> {
    let (channel, attach) = open(target).await?;
    Ok(vtr_client(channel, attach))
}

/// A client of a hub's `Shares` service.
pub async fn connect_shares(target: &Target) -> anyhow::Result<SharesClient> {
    let (channel, attach) = open(target).await?;
    Ok(shares_client::SharesClient::with_interceptor(
        channel, attach,
    ))
}

/// Largest answer a `Grants` client takes.
const AUDIT_MESSAGE_BYTES: usize = 32 << 20;

/// A client of a hub's `Grants` service.
pub async fn connect_grants(target: &Target) -> anyhow::Result<GrantsClient> {
    let (channel, attach) = open(target).await?;
    // The audit log's 10,000 rows of up to about 1 KiB each fit.
    Ok(
        grants_client::GrantsClient::with_interceptor(channel, attach)
            .max_decoding_message_size(AUDIT_MESSAGE_BYTES),
    )
}

/// A client of a hub's `Federation` service.
pub async fn connect_federation(target: &Target) -> anyhow::Result<FederationClient> {
    let (channel, attach) = open(target).await?;
    Ok(federation_client::FederationClient::with_interceptor(
        channel, attach,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_go_in_the_clear_only_to_loopback() {
        use super::refuse_plain_http_off_loopback as check;
        for ok in [
            "http://127.0.0.1:4620",
            "http://127.9.9.9:1",
            "http://localhost:4620/",
            "http://[::1]:4620",
            "https://hub.example:443",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hub.example:4620",
            "http://10.0.0.1:4620",
            "http://[fe80::1]:1",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
