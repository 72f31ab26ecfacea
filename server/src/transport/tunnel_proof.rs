//! Before a tunnelled spoke sends its token and key, the hub proves that
//! it knows the tunnel token: whoever else listens on the hub's port (say,
//! another local user who bound it while the hub was down) cannot, and so
//! never receives a spoke's secrets.
//!
//! On one connection the spoke first asks `GET /vtr/tunnel/hello` with a
//! fresh random nonce; the hub answers with HMAC-SHA256(key, nonce), where
//! the key is derived from the token by PBKDF2-HMAC-SHA256 (100,000
//! rounds, made once per process); only then does the spoke send the
//! upgrade request with its token and key. Anyone may ask for a proof, so
//! the slow derivation makes guessing a hand-chosen token from one
//! offline as costly as it reasonably can be.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::grpc::auth::Token;
use super::tunnel::Acceptor;
use crate::hub::secret::{hex, unhex};

pub const HELLO_PATH: &str = "/vtr/tunnel/hello";
pub const NONCE_HEADER: &str = "x-vtr-nonce";
pub const PROOF_HEADER: &str = "x-vtr-hub-proof";
/// The derivation's salt: separates this key from any other use of the
/// token.
const SALT: &[u8] = b"vtr-tunnel-hub-proof-v1";
/// PBKDF2 rounds: tens of milliseconds once per process, as much per
/// guess for whoever tries tokens offline.
const ROUNDS: u32 = 100_000;
/// A nonce is 32 random bytes in hex.
const NONCE_HEX: usize = 64;

/// A fresh nonce for one hello.
pub fn nonce() -> anyhow::Result<String> {
    let mut bytes = [0u8; NONCE_HEX / 2];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

/// The key proofs are made with, derived from the tunnel token.
pub struct ProofKey([u8; 32]);

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofKey(..)")
    }
}

impl ProofKey {
    pub fn derive(token: &Token) -> ProofKey {
        ProofKey(pbkdf2(token.secret().as_bytes(), SALT, ROUNDS))
    }

    fn mac(&self, nonce: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(nonce.as_bytes());
        mac
    }

    /// The hub's answer to `nonce`.
    pub fn prove(&self, nonce: &str) -> String {
        hex(&self.mac(nonce).finalize().into_bytes())
    }

    /// Whether `proof` is the answer to `nonce` (constant time).
    pub fn verify(&self, nonce: &str, proof: &str) -> bool {
        unhex(proof).is_some_and(|p| self.mac(nonce).verify_slice(&p).is_ok())
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) with one 32-byte block.
fn pbkdf2(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let prf = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes any key");
    let mut first = prf.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = first.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..rounds {
        let mut next = prf.clone();
        next.update(&u);
        u = next.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

/// `GET /vtr/tunnel/hello`: the hub's proof for the spoke's nonce. A hub
/// that takes no tunnel token (`--no-token`) has nothing to prove.
pub async fn hello(State(acceptor): State<Acceptor>, headers: HeaderMap) -> Response {
    let nonce = headers
        .get(NONCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if nonce.len() != NONCE_HEX || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (
            StatusCode::BAD_REQUEST,
            format!("{NONCE_HEADER} must be {NONCE_HEX} hex digits\n"),
        )
            .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(key) = &acceptor.proof_key {
        let proof = HeaderValue::from_str(&key.prove(nonce)).expect("hex is a header value");
        response.headers_mut().insert(PROOF_HEADER, proof);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        // PBKDF2-HMAC-SHA256, "password" / "salt" (RFC 7914 section 11's
        // construction; the widely published vectors).
        assert_eq!(
            hex(&pbkdf2(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex(&pbkdf2(b"password", b"salt", 2)),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
        );
        assert_eq!(
            hex(&pbkdf2(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn only_the_token_answers_a_nonce() {
        let key = ProofKey::derive(&Token::new("the-tunnel-token-0123456789").expect("token"));
        let other = ProofKey::derive(&Token::new("another-token-0123456789").expect("token"));
        let n = nonce().expect("nonce");
        let proof = key.prove(&n);
        assert!(key.verify(&n, &proof));
        assert!(!other.verify(&n, &proof));
        assert!(!key.verify(&nonce().expect("nonce"), &proof));
        assert!(!key.verify(&n, "zz"));
    }
}
