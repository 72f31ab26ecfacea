//! Properties more than one target checks, each against an oracle written
//! here from the rule, not by calling the code under test.

use vtr::core::limits;
use vtr_shared::address::{MAX_NAME_LEN, SessionAddress, validate_name};

/// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, written out.
pub fn name_rule(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

pub fn check_name(name: &str) {
    assert_eq!(
        validate_name(name).is_ok(),
        name_rule(name),
        "validate_name disagrees with the rule on {name:?}"
    );
}

/// A parsed address prints back as written and parses to itself.
pub fn check_address(text: &str) {
    let Ok(address) = SessionAddress::parse(text) else {
        return;
    };
    assert_eq!(address.to_string(), text, "address does not print back");
    assert!(!address.session.is_empty(), "empty session in {text:?}");
    if let Some(spoke) = &address.spoke {
        assert!(name_rule(spoke), "bad spoke {spoke:?} accepted in {text:?}");
        assert!(!address.session.contains(':'), "two colons in {text:?}");
    }
    assert_eq!(SessionAddress::parse(&address.to_string()), Ok(address));
}

/// What `check_spawn` accepts keeps every limit.
pub fn check_spawn(spec: &vtr::core::SpawnSpec) {
    let Ok((cols, rows)) = limits::check_spawn(spec) else {
        return;
    };
    let (cols, rows) = (u32::from(cols), u32::from(rows));
    assert!((limits::MIN_COLS..=limits::MAX_COLS).contains(&cols));
    assert!((limits::MIN_ROWS..=limits::MAX_ROWS).contains(&rows));
    assert!(spec.cols == 0 || spec.cols == cols, "cols changed");
    assert!(spec.rows == 0 || spec.rows == rows, "rows changed");
    assert!(spec.name.is_empty() || name_rule(&spec.name), "bad name");
    assert!(spec.args.len() <= limits::MAX_ARGS);
    assert!(spec.env.len() <= limits::MAX_ENV);
    let strings = || {
        std::iter::once(&spec.command)
            .chain(&spec.args)
            .chain(&spec.env)
            .chain(std::iter::once(&spec.cwd))
    };
    assert!(strings().all(|s| !s.contains('\0')), "NUL accepted");
    assert!(strings().map(String::len).sum::<usize>() <= limits::MAX_SPAWN_BYTES);
    assert!(
        spec.env
            .iter()
            .all(|kv| kv.split_once('=').is_some_and(|(k, _)| !k.is_empty())),
        "env entry without KEY= accepted"
    );
    assert!(spec.created_by.chars().count() <= limits::MAX_CREATED_BY_CHARS);
    assert!(!spec.created_by.chars().any(char::is_control));
}

/// What `check_size` accepts is in range and unchanged.
pub fn check_size(cols: u32, rows: u32) {
    let in_range = (limits::MIN_COLS..=limits::MAX_COLS).contains(&cols)
        && (limits::MIN_ROWS..=limits::MAX_ROWS).contains(&rows);
    match limits::check_size(cols, rows) {
        Ok((c, r)) => assert!(in_range && u32::from(c) == cols && u32::from(r) == rows),
        Err(_) => assert!(!in_range, "{cols}x{rows} refused"),
    }
}

/// Decodes `data` as `M`; a decoded message re-encodes to one that decodes
/// to it again.
pub fn round_trip<M>(data: &[u8]) -> Option<M>
where
    M: prost::Message + Default + PartialEq + std::fmt::Debug,
{
    let message = M::decode(data).ok()?;
    let again = M::decode(message.encode_to_vec().as_slice());
    assert_eq!(
        again.as_ref().ok(),
        Some(&message),
        "decode(encode(m)) != m"
    );
    Some(message)
}
