//! Default per-user paths (XDG runtime directory, else a private folder in /tmp).

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// `$XDG_RUNTIME_DIR/vtr`, else `/tmp/vtr-<uid>`.
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && Path::new(&dir).is_dir() => PathBuf::from(dir).join("vtr"),
        _ => PathBuf::from(format!("/tmp/vtr-{}", nix::unistd::getuid())),
    }
}

/// Where hub `name` keeps its state (share links, their secret):
/// `$XDG_STATE_HOME/vtr/hub-NAME`, else `~/.local/state/vtr/hub-NAME`.
pub fn default_state_dir(name: &str) -> PathBuf {
    state_base().join(format!("hub-{name}"))
}

/// Where spoke `name` keeps its state (its --listen token):
/// `$XDG_STATE_HOME/vtr/spoke-NAME`, else `~/.local/state/vtr/spoke-NAME`.
pub fn default_spoke_state_dir(name: &str) -> PathBuf {
    state_base().join(format!("spoke-{name}"))
}

fn state_base() -> PathBuf {
    let base = match (std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME")) {
        (Some(dir), _) if !dir.is_empty() => PathBuf::from(dir),
        (_, Some(home)) if !home.is_empty() => PathBuf::from(home).join(".local/state"),
        _ => runtime_dir().join("state"),
    };
    base.join("vtr")
}

pub fn default_spoke_socket() -> PathBuf {
    runtime_dir().join("spoke.sock")
}

pub fn default_hub_socket() -> PathBuf {
    runtime_dir().join("hub.sock")
}

/// Creates `dir` (mode 0700) if missing; refuses one owned by another user
/// or open to others, since sockets inside it grant control of sessions.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        return Ok(());
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if meta.uid() != nix::unistd::getuid().as_raw() {
        bail!(
            "{} belongs to another user; choose another directory (--socket, --state-dir)",
            dir.display()
        );
    }
    if meta.permissions().mode() & 0o022 != 0 {
        bail!(
            "{} is writable by others; fix with `chmod 700 {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// This host's name made into a valid spoke name.
/// The name of the user running this process (`uid N` if it has none).
pub fn user_name() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

pub fn host_name() -> String {
    let raw = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(vtr_shared::address::MAX_NAME_LEN)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name.insert(0, 'h');
        name.truncate(vtr_shared::address::MAX_NAME_LEN);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_is_a_valid_name() {
        assert_eq!(vtr_shared::address::validate_name(&host_name()), Ok(()));
    }
}
