//! Before a tunnelled spoke sends its token and key, the hub proves that
//! it knows the tunnel token: whoever else listens on the hub's port (say,
//! another local user who bound it while the hub was down) cannot, and so
//! never receives a spoke's secrets.
//!
//! On one connection the spoke first asks `GET /vtr/tunnel/hello` with a
//! fresh random nonce; the hub answers with HMAC-SHA256(token, domain ||
//! nonce); only then does the spoke send the upgrade request with its
//! token and key.

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
/// Separates these MACs from any other use of the token.
const DOMAIN: &[u8] = b"vtr-tunnel-hub-proof-v1\0";
/// A nonce is 32 random bytes in hex.
const NONCE_HEX: usize = 64;

/// A fresh nonce for one hello.
pub fn nonce() -> anyhow::Result<String> {
    let mut bytes = [0u8; NONCE_HEX / 2];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

fn mac(token: &Token, nonce: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.secret().as_bytes()).expect("HMAC takes any key");
    mac.update(DOMAIN);
    mac.update(nonce.as_bytes());
    mac
}

/// The hub's answer to `nonce`.
pub fn prove(token: &Token, nonce: &str) -> String {
    hex(&mac(token, nonce).finalize().into_bytes())
}

/// Whether `proof` is the answer to `nonce` (constant time).
pub fn verify(token: &Token, nonce: &str, proof: &str) -> bool {
    unhex(proof).is_some_and(|p| mac(token, nonce).verify_slice(&p).is_ok())
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
    if let Some(token) = &acceptor.token {
        let proof = HeaderValue::from_str(&prove(token, nonce)).expect("hex is a header value");
        response.headers_mut().insert(PROOF_HEADER, proof);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_answers_a_nonce() {
        let token = Token::new("the-tunnel-token-0123456789").expect("token");
        let other = Token::new("another-token-0123456789").expect("token");
        let n = nonce().expect("nonce");
        let proof = prove(&token, &n);
        assert!(verify(&token, &n, &proof));
        assert!(!verify(&other, &n, &proof));
        assert!(!verify(&token, &nonce().expect("nonce"), &proof));
        assert!(!verify(&token, &n, "zz"));
    }
}
