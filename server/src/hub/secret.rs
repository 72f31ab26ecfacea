//! The hub's secret: 32 random bytes in its state directory (mode 0600),
//! made on first start. It signs share links and web sign-in cookies, each
//! under its own domain string, with HMAC-SHA256.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_BYTES: usize = 32;

/// The hub's signing key.
pub struct Secret([u8; SECRET_BYTES]);

impl Secret {
    /// Reads the secret at `path`, creating it (mode 0600) on first start.
    /// A secret others can read is refused: it would let them mint links
    /// and sign-in cookies.
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

    /// A known key, for tests and the fuzz harness (`benches/fuzz`), which
    /// signs valid share tokens to mutate.
    pub fn fixed(byte: u8) -> Secret {
        Secret([byte; SECRET_BYTES])
    }

    /// HMAC-SHA256 of `payload` under `domain`, in hex.
    pub fn sign(&self, domain: &str, payload: &str) -> String {
        hex(&self.mac(domain, payload).finalize().into_bytes())
    }

    /// Whether `mac_hex` is `payload`'s MAC under `domain` (constant time).
    pub fn verify(&self, domain: &str, payload: &str, mac_hex: &str) -> bool {
        let Some(mac) = unhex(mac_hex) else {
            return false;
        };
        self.mac(domain, payload).verify_slice(&mac).is_ok()
    }

    fn mac(&self, domain: &str, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key size");
        mac.update(domain.as_bytes());
        mac.update(b":");
        mac.update(payload.as_bytes());
        mac
    }
}

/// `n` random bytes, in hex.
pub fn random_hex(n: usize) -> anyhow::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex only: each byte is exactly the two digits `hex` writes,
/// so one value has one text (a MAC cannot be spelt two ways).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_keep_signatures_apart() {
        let secret = Secret::fixed(7);
        let mac = secret.sign("a", "payload");
        assert!(secret.verify("a", "payload", &mac));
        assert!(!secret.verify("b", "payload", &mac));
        assert!(!secret.verify("a", "payloaD", &mac));
        assert!(!Secret::fixed(8).verify("a", "payload", &mac));
        assert!(!secret.verify("a", "payload", &mac.to_uppercase()));
    }

    #[test]
    fn hex_has_one_spelling() {
        assert_eq!(unhex("09ff"), Some(vec![9, 255]));
        // `u8::from_str_radix` takes a sign: "+9" was read as 0x09.
        for bad in ["+9", "-0", " 9", "0G", "FF", "0"] {
            assert_eq!(unhex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_mac_spelt_with_a_sign_does_not_verify() {
        let secret = Secret::fixed(7);
        // A payload whose MAC has a `0x` pair to respell as `+x`.
        let (payload, mac, at) = (0..)
            .find_map(|n| {
                let payload = format!("p{n}");
                let mac = secret.sign("a", &payload);
                let at = (0..mac.len()).step_by(2).find(|&i| &mac[i..=i] == "0")?;
                Some((payload, mac, at))
            })
            .expect("some MAC has a 0 digit");
        let mut respelt = mac.clone();
        respelt.replace_range(at..=at, "+");
        assert!(secret.verify("a", &payload, &mac));
        assert!(!secret.verify("a", &payload, &respelt), "{respelt}");
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
