//! Share tokens: `ID.EXPIRES.MAC`. `ID` is 32 hex digits (random),
//! `EXPIRES` the expiry in Unix seconds, and `MAC` HMAC-SHA256 over
//! `ID.EXPIRES` with the hub's secret, in hex. Only `[0-9a-f.]`: safe in a
//! URL path as it is.

use crate::hub::secret::{Secret, random_hex};

/// Longer input is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 128;
/// MAC domain of share tokens.
const DOMAIN: &str = "vtr-share-v1";

/// What a well-signed token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub id: String,
    pub expires_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a share link (is the URL cut short or mistyped?)")]
    Malformed,
    #[error("the share token's signature does not match")]
    BadSignature,
}

/// Signs `claims` into a token.
pub fn sign(secret: &Secret, claims: &Claims) -> String {
    let payload = format!("{}.{}", claims.id, claims.expires_s);
    let mac = secret.sign(DOMAIN, &payload);
    format!("{payload}.{mac}")
}

/// The claims of a token `secret` signed (expiry not checked here).
pub fn verify(secret: &Secret, token: &str) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let (payload, mac) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (id, expires) = payload.split_once('.').ok_or(TokenError::Malformed)?;
    let well_formed = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && !expires.is_empty()
        && expires.bytes().all(|b| b.is_ascii_digit())
        && mac.len() == 64;
    if !well_formed {
        return Err(TokenError::Malformed);
    }
    let expires_s = expires.parse().map_err(|_| TokenError::Malformed)?;
    if !secret.verify(DOMAIN, payload, mac) {
        return Err(TokenError::BadSignature);
    }
    Ok(Claims {
        id: id.to_owned(),
        expires_s,
    })
}

/// A fresh random link id: 32 hex digits.
pub fn new_id() -> anyhow::Result<String> {
    random_hex(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            id: "0123456789abcdef0123456789abcdef".to_owned(),
            expires_s: 1_900_000_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let secret = Secret::fixed(7);
        let token = sign(&secret, &claims());
        assert!(token.starts_with("0123456789abcdef0123456789abcdef.1900000000."));
        assert_eq!(verify(&secret, &token), Ok(claims()));
    }

    #[test]
    fn any_flipped_character_is_refused() {
        let secret = Secret::fixed(7);
        let token = sign(&secret, &claims());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
            let flipped = String::from_utf8(bytes).expect("ascii");
            assert!(
                verify(&secret, &flipped).is_err(),
                "flipped at {i}: {flipped}"
            );
        }
    }

    #[test]
    fn another_secret_or_garbage_is_refused() {
        let token = sign(&Secret::fixed(7), &claims());
        assert_eq!(
            verify(&Secret::fixed(8), &token),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "x", "a.b.c", "..", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert_eq!(
                verify(&Secret::fixed(7), bad),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}
