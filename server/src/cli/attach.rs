//! `vtr attach`: this terminal becomes the session's terminal. Raw mode,
//! a detach key, resize on SIGWINCH, and resume by offset after a dropped
//! connection (no lost or doubled output).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::termios::{self, SetArg, Termios};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use vtr_shared::keys::key_bytes;
use vtr_shared::proto as pb;
use vtr_shared::proto::attach_request::Request as AttachMessage;

use super::exit::ExitCode;
use super::output::{escape, stdout_error};
use crate::transport::grpc::client::VtrClient;

/// Keystroke batches (and sizes) waiting to be sent; the reader waits when
/// full.
const INPUT_QUEUE: usize = 64;
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Restores the terminal's settings when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode on stdin if it is a terminal.
    fn enable() -> anyhow::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let saved = termios::tcgetattr(&stdin).context("reading terminal settings")?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw).context("entering raw mode")?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

enum Keyboard {
    Bytes(Vec<u8>),
    Detach,
}

fn terminal_size() -> Option<(u32, u32)> {
    terminal_size::terminal_size()
        .map(|(terminal_size::Width(w), terminal_size::Height(h))| (u32::from(w), u32::from(h)))
}

pub async fn attach(
    client: &mut VtrClient,
    session: String,
    detach_key: &str,
    resize: bool,
) -> anyhow::Result<ExitCode> {
    let detach = match key_bytes(detach_key, false) {
        Ok(bytes) if bytes.len() == 1 => bytes[0],
        Ok(_) => bail!("detach key {detach_key:?} must be a single-byte key such as ctrl+]"),
        Err(e) => bail!("detach key: {e}"),
    };
    // Fail before touching the terminal if the session is unknown.
    let info = client
        .info(pb::SessionRequest {
            session: session.clone(),
        })
        .await?
        .into_inner();
    let raw = RawMode::enable()?;
    let (keys_tx, keys_rx) = mpsc::channel(INPUT_QUEUE);
    tokio::spawn(read_keyboard(detach, keys_tx));
    let result = run(client, &session, resize, keys_rx).await;
    drop(raw);
    match &result {
        Ok(ExitCode::Ok) => eprintln!("\r\n[vtr: detached from {}]", escape(&info.name)),
        Ok(_) => {}
        Err(e) => eprintln!("\r\n[vtr: attach ended: {e:#}]"),
    }
    result
}

async fn read_keyboard(detach: u8, tx: mpsc::Sender<Keyboard>) {
    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Keyboard::Detach).await;
                return;
            }
            Ok(n) => n,
        };
        let data = &buf[..n];
        if let Some(i) = data.iter().position(|&b| b == detach) {
            if i > 0 {
                let _ = tx.send(Keyboard::Bytes(data[..i].to_vec())).await;
            }
            let _ = tx.send(Keyboard::Detach).await;
            return;
        }
        if tx.send(Keyboard::Bytes(data.to_vec())).await.is_err() {
            return;
        }
    }
}

/// A resize request for the local terminal's size, if it has one.
fn size_request() -> Option<pb::AttachRequest> {
    let (cols, rows) = terminal_size()?;
    Some(pb::AttachRequest {
        request: Some(AttachMessage::Resize(pb::TerminalSize { cols, rows })),
    })
}

/// Whether a failed stream is worth reopening (the connection, not the
/// request, went wrong).
fn transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::Unknown
            | Code::Internal
            | Code::Cancelled
            | Code::DeadlineExceeded
    )
}

async fn run(
    client: &mut VtrClient,
    session: &str,
    resize: bool,
    mut keys: mpsc::Receiver<Keyboard>,
) -> anyhow::Result<ExitCode> {
    let mut stdout = tokio::io::stdout();
    let mut winch = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        .context("watching window size changes")?;
    let mut offset: Option<u64> = None;
    let mut retry = RETRY_MIN;
    loop {
        // One Attach stream per connection: output in, keys and sizes out.
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let open = pb::AttachRequest {
            request: Some(AttachMessage::Open(pb::SubscribeRequest {
                session: session.to_owned(),
                from_offset: offset,
            })),
        };
        let size = if resize { size_request() } else { None };
        for request in std::iter::once(open).chain(size) {
            // The receiver is alive: it is handed to `attach` below.
            let _ = tx.try_send(request);
        }
        let mut stream = match client.attach(ReceiverStream::new(rx)).await {
            Ok(response) => response.into_inner(),
            Err(status) if !transient(&status) => return Err(status.into()),
            Err(_) => {
                // The connection dropped: wait, unless the user detaches.
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    key = keys.recv() => if matches!(key, Some(Keyboard::Detach) | None) {
                        return Ok(ExitCode::Ok);
                    },
                }
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        loop {
            tokio::select! {
                // Session output, written through untouched.
                message = stream.message() => {
                    let event = match message {
                        Ok(Some(event)) => event,
                        Ok(None) => break,
                        Err(status) if transient(&status) => break,
                        Err(status) => return Err(status.into()),
                    };
                    retry = RETRY_MIN;
                    match event.event {
                        Some(pb::subscribe_event::Event::Output(o)) => {
                            stdout.write_all(&o.data).await.map_err(stdout_error)?;
                            stdout.flush().await.map_err(stdout_error)?;
                            offset = Some(o.offset + o.data.len() as u64);
                        }
                        Some(pb::subscribe_event::Event::Snapshot(s)) => {
                            stdout.write_all(&s.screen).await.map_err(stdout_error)?;
                            stdout.flush().await.map_err(stdout_error)?;
                            offset = Some(s.offset);
                        }
                        Some(pb::subscribe_event::Event::Exited(e)) => {
                            let how = match (e.exit_code, e.signal.as_str()) {
                                (Some(code), _) => format!("code {code}"),
                                (None, sig) if !sig.is_empty() => escape(sig).into_owned(),
                                _ => "unknown status".to_owned(),
                            };
                            eprintln!("\r\n[vtr: session exited ({how})]");
                            return Ok(ExitCode::Exited);
                        }
                        _ => {}
                    }
                }
                // Keystrokes; input typed while disconnected is dropped.
                key = keys.recv() => match key {
                    Some(Keyboard::Bytes(data)) => {
                        let request = pb::AttachRequest {
                            request: Some(AttachMessage::Input(data.into())),
                        };
                        if tx.send(request).await.is_err() {
                            break;
                        }
                    }
                    Some(Keyboard::Detach) | None => return Ok(ExitCode::Ok),
                },
                // The local terminal changed size: the session follows.
                _ = winch.recv(), if resize => {
                    if let Some(request) = size_request()
                        && tx.send(request).await.is_err()
                    {
                        break;
                    }
                }
            }
        }
    }
}
