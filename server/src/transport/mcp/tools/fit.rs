//! Answers within one tool answer's size: compact JSON, lists cut to what
//! fits with a count of the rest, never JSON cut in the middle.

use serde_json::Value;

/// An answer's size, in bytes.
pub const MAX_ANSWER: usize = 64 << 10;
/// A tool error's message, in bytes (it may quote what the caller sent).
pub const MAX_ERROR: usize = 2 << 10;

/// `answer` as compact JSON, or why it does not fit in one answer.
pub(super) fn fit(answer: &Value) -> Result<String, String> {
    let text = serde_json::to_string(answer).map_err(|e| e.to_string())?;
    if text.len() > MAX_ANSWER {
        return Err(format!(
            "the answer would be {} bytes, over the {MAX_ANSWER}-byte limit of one answer: \
             ask for less",
            text.len()
        ));
    }
    Ok(text)
}

/// A list within one answer: as many items as fit (the first ones, or
/// the last with `newest`), `wrap`ped with how many were left out.
pub(super) fn fit_list(
    items: Vec<Value>,
    newest: bool,
    wrap: impl Fn(Vec<Value>, usize) -> Value,
) -> Result<String, String> {
    // Room for the wrapping and the count.
    let mut room = MAX_ANSWER - 512;
    let size = |v: &Value| serde_json::to_string(v).map_or(usize::MAX, |t| t.len() + 1);
    let mut keep = 0;
    let mut take = |v: &Value| {
        let n = size(v);
        if n > room {
            return false;
        }
        room -= n;
        keep += 1;
        true
    };
    if newest {
        items.iter().rev().take_while(|v| take(v)).for_each(drop);
    } else {
        items.iter().take_while(|v| take(v)).for_each(drop);
    }
    let omitted = items.len() - keep;
    let kept = if newest {
        items[omitted..].to_vec()
    } else {
        items[..keep].to_vec()
    };
    fit(&wrap(kept, omitted))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_long_list_keeps_what_fits_and_counts_the_rest() {
        let items: Vec<Value> = (0..10_000).map(|i| json!(format!("item {i:05}"))).collect();
        let text = fit_list(
            items.clone(),
            true,
            |v, o| json!({"items": v, "omitted": o}),
        )
        .expect("fits");
        assert!(text.len() <= MAX_ANSWER);
        let v: Value = serde_json::from_str(&text).expect("whole JSON");
        let kept = v["items"].as_array().expect("items");
        assert_eq!(
            kept.len() + v["omitted"].as_u64().expect("count") as usize,
            10_000
        );
        assert_eq!(kept.last(), Some(&json!("item 09999")), "the newest kept");
        let first = fit_list(items, false, |v, o| json!({"items": v, "omitted": o})).expect("fits");
        let v: Value = serde_json::from_str(&first).expect("whole JSON");
        assert_eq!(v["items"][0], "item 00000");
        let huge = json!({"text": "x".repeat(MAX_ANSWER)});
        assert!(fit(&huge).expect_err("too big").contains("limit"));
    }
}
