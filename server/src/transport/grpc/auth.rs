//! Bearer tokens for TCP listeners, compared in constant time.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// Shortest token accepted from a token file.
pub const MIN_TOKEN_LEN: usize = 16;

/// A shared secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    pub fn new(secret: &str) -> anyhow::Result<Self> {
        let secret = secret.trim();
        if secret.len() < MIN_TOKEN_LEN {
            anyhow::bail!(
                "token is {} bytes, at least {MIN_TOKEN_LEN} required",
                secret.len()
            );
        }
        if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
            anyhow::bail!("token must not contain whitespace or control characters");
        }
        Ok(Token(secret.into()))
    }

    /// Reads a token file (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading token file {}", path.display()))?;
        Token::new(&text).with_context(|| format!("token file {}", path.display()))
    }

    pub fn secret(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Server side: requires `authorization: Bearer <token>` when a token is set.
#[derive(Clone, Debug)]
pub struct Check {
    token: Option<Token>,
}

impl Check {
    pub fn new(token: Option<Token>) -> Self {
        Check { token }
    }
}

impl tonic::service::Interceptor for Check {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.token else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(p) if token.matches(p) => Ok(request),
            Some(_) => Err(Status::unauthenticated("invalid token")),
            None => Err(Status::unauthenticated(
                "missing token: send `authorization: Bearer <token>`",
            )),
        }
    }
}

/// Client side: adds the bearer token to every call.
#[derive(Clone, Debug)]
pub struct Attach {
    header: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl Attach {
    pub fn new(token: Option<&Token>) -> anyhow::Result<Self> {
        let header = token
            .map(|t| format!("Bearer {}", t.secret()).parse())
            .transpose()
            .context("token is not a valid header value")?;
        Ok(Attach { header })
    }
}

impl tonic::service::Interceptor for Attach {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(h) = &self.header {
            request.metadata_mut().insert("authorization", h.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn call(check: &mut Check, header: Option<&str>) -> Result<(), Status> {
        let mut req = Request::new(());
        if let Some(h) = header {
            req.metadata_mut()
                .insert("authorization", h.parse().expect("header"));
        }
        check.call(req).map(|_| ())
    }

    #[test]
    fn tokens_are_checked() {
        let token = Token::new("0123456789abcdef").expect("token");
        let mut check = Check::new(Some(token));
        assert!(call(&mut check, Some("Bearer 0123456789abcdef")).is_ok());
        let wrong = call(&mut check, Some("Bearer 0123456789abcdeX")).expect_err("wrong");
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        let missing = call(&mut check, None).expect_err("missing");
        assert!(missing.message().contains("missing token"));
        assert!(call(&mut Check::new(None), None).is_ok());
    }

    #[test]
    fn short_tokens_are_refused() {
        let err = Token::new("short").expect_err("short").to_string();
        assert!(err.contains("at least 16"), "{err}");
    }
}
