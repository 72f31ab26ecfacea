//! Recordings in asciinema v2 format (a JSON header line, then one
//! `[time, "o", text]` line per output chunk and `[time, "r", "COLSxROWS"]`
//! per resize), built from the output log.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::session::{Inner, ResizeMark, Session};

/// Recording chunks in flight; the producer waits for the reader.
const RECORD_QUEUE: usize = 4;
/// Target size of one recording chunk.
const CHUNK_BYTES: usize = 64 << 10;

impl Session {
    /// The session's output still held by the log as a recording. With
    /// `follow`, keeps going with live output until the session exits.
    pub fn record(&self, follow: bool) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(RECORD_QUEUE);
        tokio::spawn(run(self.inner().clone(), follow, tx));
        rx
    }
}

async fn run(inner: Arc<Inner>, follow: bool, tx: mpsc::Sender<Bytes>) {
    let mut end_rx = inner.end_rx();
    let mut state_rx = inner.state_rx();
    let (start, end) = inner.log_bounds();
    let mut resizes = inner.resizes();
    let initial = resizes
        .iter()
        .rev()
        .find(|m| m.offset <= start)
        .copied()
        .unwrap_or(ResizeMark {
            offset: 0,
            at: std::time::Duration::ZERO,
            cols: 80,
            rows: 24,
        });
    let mut header = serde_json::json!({
        "version": 2,
        "width": initial.cols,
        "height": initial.rows,
        "timestamp": inner.created_at().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "title": inner.name(),
        "env": { "TERM": "xterm-256color" },
    });
    if start > 0 {
        // The log no longer holds the beginning; say how much is missing.
        header["vtr_truncated_bytes"] = start.into();
    }
    let mut out = header.to_string().into_bytes();
    out.push(b'\n');
    let mut pos = start;
    let mut next_resize = resizes
        .iter()
        .position(|m| m.offset > start)
        .unwrap_or(resizes.len());
    let mut carry = Vec::new();
    let mut until = end;
    loop {
        for (offset, data, at) in inner.log_slices(pos, until) {
            while let Some(mark) = resizes.get(next_resize).filter(|m| m.offset <= offset) {
                push_line(
                    &mut out,
                    mark.at.as_secs_f64(),
                    "r",
                    &format!("{}x{}", mark.cols, mark.rows),
                );
                next_resize += 1;
            }
            let text = decode_utf8(&mut carry, &data);
            if !text.is_empty() {
                push_line(&mut out, at.as_secs_f64(), "o", &text);
            }
            pos = offset + data.len() as u64;
            if out.len() >= CHUNK_BYTES
                && tx
                    .send(Bytes::from(std::mem::take(&mut out)))
                    .await
                    .is_err()
            {
                return;
            }
        }
        if !follow
            || state_rx
                .borrow_and_update()
                .exit
                .as_ref()
                .is_some_and(|(_, fin)| pos >= *fin)
        {
            break;
        }
        if !out.is_empty()
            && tx
                .send(Bytes::from(std::mem::take(&mut out)))
                .await
                .is_err()
        {
            return;
        }
        tokio::select! {
            // More output to record.
            _ = end_rx.changed() => {}
            // Exit: record the rest, then stop.
            _ = state_rx.changed() => {}
            () = tx.closed() => return,
        }
        until = inner.log_bounds().1;
        // Resizes made while following are recorded too.
        let done_at = next_resize
            .checked_sub(1)
            .and_then(|i| resizes.get(i))
            .map(|m| m.at);
        resizes = inner.resizes();
        next_resize = resizes
            .iter()
            .position(|m| m.offset > start && done_at.is_none_or(|at| m.at > at))
            .unwrap_or(resizes.len());
    }
    if !out.is_empty() {
        let _ = tx.send(Bytes::from(out)).await;
    }
}

fn push_line(out: &mut Vec<u8>, time: f64, kind: &str, data: &str) {
    let time = (time * 1e6).round() / 1e6;
    let line = serde_json::json!([time, kind, data]);
    out.extend_from_slice(line.to_string().as_bytes());
    out.push(b'\n');
}

/// Decodes UTF-8 that may be split across chunks: an incomplete sequence at
/// the end waits in `carry` for the next chunk; invalid bytes become U+FFFD.
pub fn decode_utf8(carry: &mut Vec<u8>, data: &[u8]) -> String {
    carry.extend_from_slice(data);
    let mut out = String::new();
    let mut rest: &[u8] = carry;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                rest = &[];
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(&String::from_utf8_lossy(valid));
                match e.error_len() {
                    Some(n) => {
                        out.push('\u{FFFD}');
                        rest = &after[n..];
                    }
                    None => {
                        rest = after;
                        break;
                    }
                }
            }
        }
    }
    *carry = rest.to_vec();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_anywhere_decodes_whole() {
        let text = "héllo → wörld \u{1F600}!";
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            let mut carry = Vec::new();
            let mut out = decode_utf8(&mut carry, &bytes[..i]);
            out.push_str(&decode_utf8(&mut carry, &bytes[i..]));
            assert_eq!(out, text, "split at {i}");
            assert!(carry.is_empty());
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut carry = Vec::new();
        assert_eq!(decode_utf8(&mut carry, b"a\xffb"), "a\u{FFFD}b");
    }
}
