//! `read_output`: a session's stream since an offset, in pages of text
//! that never end inside an escape sequence or a character.

use std::time::Duration;

use serde_json::{Value, json};

use crate::core::strip::Stripper;
use crate::core::{Coordinator, StreamEvent};

/// How long `read_output` waits for the stream to reach the end it saw.
const READ_CATCH_UP: Duration = Duration::from_secs(2);

/// Output from `since` up to the end seen at the call, at most `max`
/// bytes of it; from a later offset when `since` is no longer held.
pub(super) async fn read_output(
    c: &dyn Coordinator,
    session: &str,
    since: u64,
    max: usize,
) -> Result<Value, String> {
    let end = c
        .info(session)
        .await
        .map_err(|e| e.to_string())?
        .output_offset;
    if since > end {
        return Err(format!(
            "since_offset {since} is past the end of the output ({end})"
        ));
    }
    if since == end {
        return Ok(
            json!({"output": "", "start_offset": end, "next_offset": end, "end_offset": end, "more": false}),
        );
    }
    let mut events = c
        .subscribe(session, Some(since))
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut start = since;
    let mut next = since;
    let mut gap = None;
    let deadline = tokio::time::Instant::now() + READ_CATCH_UP;
    while next < end && raw.len() < max {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        match event {
            // The offset is no longer held: what the screen shows then
            // stands for what was lost.
            StreamEvent::Snapshot { offset, screen, .. } => {
                if offset > next {
                    gap = Some((offset, strip(&screen)));
                }
                start = offset;
                next = offset;
            }
            StreamEvent::Output { offset, data } => {
                let skip = next.saturating_sub(offset).min(data.len() as u64) as usize;
                let room = max - raw.len();
                let take = (data.len() - skip).min(room);
                raw.extend_from_slice(&data[skip..skip + take]);
                next = offset.max(next) + take as u64;
            }
            StreamEvent::Exited(_) => break,
            StreamEvent::Resized { .. } | StreamEvent::Idle(_) => {}
        }
    }
    // A page that ends inside an escape or a character leaves it for the
    // next one, which then reads it whole.
    if next < end {
        let keep = page_end(&raw);
        next -= (raw.len() - keep) as u64;
        raw.truncate(keep);
    }
    let mut answer = json!({
        "output": strip(&raw),
        "start_offset": start,
        "next_offset": next,
        "end_offset": end,
        "more": next < end,
    });
    if let Some((offset, screen)) = gap {
        answer["note"] = json!(format!(
            "output from {since} to {offset} is no longer held (a session keeps its last \
             4 MiB); `screen` is what the screen showed at {offset}"
        ));
        answer["screen"] = json!(screen);
    }
    Ok(answer)
}

fn strip(raw: &[u8]) -> String {
    let mut text = Vec::new();
    Stripper::default().push(raw, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// Where a page of raw output may end: before an escape sequence that may
/// be cut (one started in the last 64 bytes) and before a cut character.
fn page_end(raw: &[u8]) -> usize {
    let tail = raw.len().saturating_sub(64);
    let mut end = match raw[tail..].iter().rposition(|&b| b == 0x1b) {
        // Nothing but the escape would be left: keep it all.
        Some(at) if tail + at > 0 => tail + at,
        _ => raw.len(),
    };
    // Back to the start of the last character; keep it if it is whole.
    let mut lead = end;
    while lead > 0 && end - lead < 4 && raw[lead - 1] & 0xc0 == 0x80 {
        lead -= 1;
    }
    if lead > 0 && raw[lead - 1] >= 0xc0 {
        let len = match raw[lead - 1] {
            0xf0.. => 4,
            0xe0.. => 3,
            _ => 2,
        };
        if end - (lead - 1) < len {
            end = lead - 1;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_ends_before_a_cut_escape_or_character() {
        assert_eq!(page_end(b"plain text"), 10);
        assert_eq!(page_end(b"abc\x1b[3"), 3);
        assert_eq!(
            page_end("ab\u{e9}".as_bytes()),
            4,
            "a whole character stays"
        );
        assert_eq!(
            page_end(&"ab\u{20ac}".as_bytes()[..4]),
            2,
            "a cut one waits"
        );
        assert_eq!(
            page_end(b"\x1b[31"),
            4,
            "an escape alone is not held back forever"
        );
    }
}
