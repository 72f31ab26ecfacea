//! Names and session addresses (`spoke:session`).

use std::fmt;

/// Longest spoke or session name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Why a name was refused. The message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong { len: usize },
    BadStart { first: char },
    BadChar { ch: char },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const RULE: &str = "names match [A-Za-z0-9][A-Za-z0-9._-]{0,63}";
        match self {
            NameError::Empty => write!(f, "name is empty ({RULE})"),
            NameError::TooLong { len } => {
                write!(f, "name is {len} bytes, limit {MAX_NAME_LEN} ({RULE})")
            }
            NameError::BadStart { first } => {
                write!(f, "name starts with {first:?} ({RULE})")
            }
            NameError::BadChar { ch } => write!(f, "name contains {ch:?} ({RULE})"),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a spoke or session name against `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let first = chars.next().ok_or(NameError::Empty)?;
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameError::BadStart { first });
    }
    match chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(ch) => Err(NameError::BadChar { ch }),
        None => Ok(()),
    }
}

/// A session reference as a user writes it: `session` or `spoke:session`.
/// The session part may be a name or an id; it is not validated as a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAddress {
    pub spoke: Option<String>,
    pub session: String,
}

impl SessionAddress {
    /// Splits at the first `:`. Both parts must be non-empty.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        match text.split_once(':') {
            None if text.is_empty() => Err(AddressError::Empty),
            None => Ok(SessionAddress {
                spoke: None,
                session: text.to_owned(),
            }),
            Some((spoke, session)) => {
                validate_name(spoke).map_err(|e| AddressError::BadSpoke {
                    address: text.to_owned(),
                    reason: e,
                })?;
                if session.is_empty() || session.contains(':') {
                    return Err(AddressError::BadSession {
                        address: text.to_owned(),
                    });
                }
                Ok(SessionAddress {
                    spoke: Some(spoke.to_owned()),
                    session: session.to_owned(),
                })
            }
        }
    }
}

impl fmt::Display for SessionAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.spoke {
            Some(spoke) => write!(f, "{spoke}:{}", self.session),
            None => f.write_str(&self.session),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    Empty,
    BadSpoke { address: String, reason: NameError },
    BadSession { address: String },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Empty => f.write_str("session address is empty"),
            AddressError::BadSpoke { address, reason } => {
                write!(f, "bad spoke in address {address:?}: {reason}")
            }
            AddressError::BadSession { address } => write!(
                f,
                "bad session address {address:?}: expected `session` or `spoke:session`"
            ),
        }
    }
}

impl std::error::Error for AddressError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for ok in ["a", "A9", "build-a", "x.y_z-1", &"a".repeat(64)] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name("-a"), Err(NameError::BadStart { first: '-' }));
        assert_eq!(validate_name("a:b"), Err(NameError::BadChar { ch: ':' }));
        assert_eq!(validate_name("a b"), Err(NameError::BadChar { ch: ' ' }));
        assert_eq!(
            validate_name(&"a".repeat(65)),
            Err(NameError::TooLong { len: 65 })
        );
        assert!(
            NameError::TooLong { len: 65 }
                .to_string()
                .contains("limit 64")
        );
    }

    #[test]
    fn addresses_split_at_the_colon() {
        let plain = SessionAddress::parse("tests").expect("plain");
        assert_eq!(plain.spoke, None);
        assert_eq!(plain.session, "tests");
        let full = SessionAddress::parse("build-a:tests").expect("full");
        assert_eq!(full.spoke.as_deref(), Some("build-a"));
        assert_eq!(full.to_string(), "build-a:tests");
        assert!(SessionAddress::parse("").is_err());
        assert!(SessionAddress::parse("a:").is_err());
        assert!(SessionAddress::parse(":b").is_err());
        assert!(SessionAddress::parse("a:b:c").is_err());
    }
}
