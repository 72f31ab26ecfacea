//! Share tokens: `ID.EXPIRES.MAC`. `ID` is 32 hex digits (random),
//! `EXPIRES` the expiry in Unix seconds, and `MAC` HMAC-SHA256 over
//! `ID.EXPIRES` with the hub's secret, in hex. Only `[0-9a-f.]`: safe in a
//! URL path as it is.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longer input is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 128;
const SECRET_BYTES: usize = 32;

/// The hub's signing key.
pub struct Secret([u8; SECRET_BYTES]);

/// What a well-signed token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub id: String,
    pub expires_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a share token (ID.EXPIRES.MAC, at most {MAX_TOKEN_BYTES} bytes)")]
    Malformed,
    #[error("the share token's signature does not match")]
    BadSignature,
}

impl Secret {
    /// Reads the secret at `path`, creating it (mode 0600) on first start.
    /// A secret others can read is refused: it would let them mint links.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    bail!(
                        "{} is readable by others (mode {:o}); run chmod 600 on it",
                        path.display(),
                        mode & 0o777
                    );
                }
                let key: [u8; SECRET_BYTES] = bytes.as_slice().try_into().map_err(|_| {
                    anyhow::anyhow!(
                        "{} holds {} bytes, not a {SECRET_BYTES}-byte secret",
                        path.display(),
                        bytes.len()
                    )
                })?;
                Ok(Secret(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; SECRET_BYTES];
                getrandom::fill(&mut key)
                    .map_err(|e| anyhow::anyhow!("no randomness for the secret: {e}"))?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                file.write_all(&key)?;
                file.sync_all()?;
                Ok(Secret(key))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    #[cfg(test)]
    pub fn fixed(byte: u8) -> Secret {
        Secret([byte; SECRET_BYTES])
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = format!("{}.{}", claims.id, claims.expires_s);
        let mac = hex(&self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{mac}")
    }

    /// The claims of a token this secret signed (expiry not checked here).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
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
            && expires.bytes().all(|b| b.is_ascii_digit());
        let expires_s = expires.parse().map_err(|_| TokenError::Malformed)?;
        let mac = unhex(mac).ok_or(TokenError::Malformed)?;
        if !well_formed {
            return Err(TokenError::Malformed);
        }
        // Constant time.
        self.mac(payload)
            .verify_slice(&mac)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(Claims {
            id: id.to_owned(),
            expires_s,
        })
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key size");
        mac.update(b"vtr-share-v1:");
        mac.update(payload.as_bytes());
        mac
    }
}

/// A fresh random link id: 32 hex digits.
pub fn new_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2)?;
            if pair.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
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
        let token = secret.sign(&claims());
        assert!(token.starts_with("0123456789abcdef0123456789abcdef.1900000000."));
        assert_eq!(secret.verify(&token), Ok(claims()));
    }

    #[test]
    fn any_flipped_character_is_refused() {
        let secret = Secret::fixed(7);
        let token = secret.sign(&claims());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
            let flipped = String::from_utf8(bytes).expect("ascii");
            assert!(
                secret.verify(&flipped).is_err(),
                "flipped at {i}: {flipped}"
            );
        }
    }

    #[test]
    fn another_secret_or_garbage_is_refused() {
        let token = Secret::fixed(7).sign(&claims());
        assert_eq!(
            Secret::fixed(8).verify(&token),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "x", "a.b.c", "..", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert_eq!(
                Secret::fixed(7).verify(bad),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_secret_file_is_created_private_and_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        let first = Secret::load_or_create(&path).expect("created");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Secret::load_or_create(&path).expect("read");
        assert_eq!(first.0, again.0);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = Secret::load_or_create(&path).err().expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
