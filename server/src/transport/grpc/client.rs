//! Connecting to a spoke (or hub): a Unix socket, or TCP with optional TLS
//! and bearer token.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use hyper_util::rt::TokioIo;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Uri};

use super::auth::{Attach, Token};
use super::pb::vtr_client;
use super::service::MAX_MESSAGE_BYTES;

pub type VtrClient = vtr_client::VtrClient<InterceptedService<Channel, Attach>>;

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
                    "no socket at {} (is `vtr spoke` running? choose one with --socket or VTR_SOCKET)",
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
        Target::Tcp { url, ca_file, .. } => {
            let mut endpoint = Endpoint::from_shared(url.clone())
                .with_context(|| format!("bad address {url:?}"))?
                .connect_timeout(CONNECT_TIMEOUT);
            if url.starts_with("https://") {
                let ca_file = ca_file.as_ref().context(
                    "https needs --ca-file: the PEM CA that signed the server's certificate",
                )?;
                let pem = std::fs::read(ca_file)
                    .with_context(|| format!("reading CA file {}", ca_file.display()))?;
                endpoint = endpoint
                    .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
                    .context("TLS configuration")?;
            } else if !url.starts_with("http://") {
                bail!("address {url:?} must start with http:// or https://");
            }
            endpoint
                .connect()
                .await
                .with_context(|| format!("connecting to {url}"))
        }
    }
}

pub async fn connect(target: &Target) -> anyhow::Result<VtrClient> {
    let channel = channel(target).await?;
    let token = match target {
        Target::Tcp { token, .. } => token.as_ref(),
        Target::Unix(_) => None,
    };
    Ok(
        vtr_client::VtrClient::with_interceptor(channel, Attach::new(token)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
}
