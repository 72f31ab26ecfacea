//! Bearer tokens for TCP listeners, compared in constant time.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// Shortest token accepted from a token file.
pub const MIN_TOKEN_LEN: usize = 16;

/// Who a request over the hub's port was let in as (a request extension
/// set by the front door): a sign-in name, `token`, `tailscale:LOGIN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity(pub String);

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

    /// Reads a token file (surrounding whitespace ignored). A file that
    /// group or others may read is refused: they could take the token.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading token file {}", path.display()))?;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("reading token file {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "token file {} is readable by group or others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
        Token::new(&text).with_context(|| format!("token file {}", path.display()))
    }

    /// The token in `path`, made (32 random bytes in hex, mode 0600) if
    /// there is none yet; `true` when it was made now.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(Self, bool)> {
        if path.exists() {
            return Ok((Token::from_file(path)?, false));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating token file {}", path.display()))?;
        file.write_all(format!("{text}\n").as_bytes())?;
        file.sync_all()?;
        Ok((Token::new(&text)?, true))
    }

    pub fn secret(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// The credential in an `Authorization` header value (`Bearer TOKEN`,
/// the scheme in any case): the one parser for every listener. A
/// credential is one word (RFC 6750's b64token; tokens never hold
/// whitespace): `Bearer a b` presents none.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
        .filter(|c| !c.is_empty() && !c.contains(char::is_whitespace))
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

    #[test]
    fn a_bearer_credential_is_one_word() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Bearer abc\tdef"), None);
        assert_eq!(bearer("Bearer abc def"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Basic abc"), None);
    }

    #[test]
    fn short_tokens_are_refused() {
        let err = Token::new("short").expect_err("short").to_string();
        assert!(err.contains("at least 16"), "{err}");
    }
}
