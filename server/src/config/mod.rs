//! `vtrpc.toml`: the configuration file. Values come, lowest first, from
//! defaults, this file, `VTR_*` environment variables, then flags; the CLI
//! applies that order (`Option::or` from the flag/environment value down).

pub mod duration;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

pub use validate::{Problem, check};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub hub: HubConfig,
    #[serde(default)]
    pub spoke: SpokeConfig,
    #[serde(default)]
    pub federation: FederationConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    pub listen: Option<SocketAddr>,
    pub socket: Option<PathBuf>,
    pub name: Option<String>,
    pub local_spoke: Option<bool>,
    pub listen_token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpokeConfig {
    pub name: Option<String>,
    pub socket: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub listen_token_file: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub scrollback: Option<usize>,
    pub log_bytes: Option<usize>,
    pub idle_after: Option<String>,
    pub parse_backlog: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    pub hub: Option<String>,
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub spokes: Vec<DialledSpoke>,
}

/// A spoke the hub dials (`[[federation.spokes]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialledSpoke {
    pub name: String,
    pub address: String,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
}

/// `$XDG_CONFIG_HOME/vtr/vtrpc.toml`, else `~/.config/vtr/vtrpc.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("vtr").join("vtrpc.toml"))
}

/// The configuration from `explicit` (which must exist), else from the
/// default path if a file is there, else empty.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => match default_path() {
            Some(path) if path.exists() => path,
            _ => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    parse(&text).with_context(|| format!("config file {}", path.display()))
}

/// A valid configuration, or every problem in it.
pub fn parse(text: &str) -> anyhow::Result<Config> {
    let problems = check(text);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("{} problem(s):\n  {}", list.len(), list.join("\n  "));
    }
    Ok(toml::from_str(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typed_values() {
        let config = parse(
            "[spoke]\nname = \"a\"\nscrollback = 5\n\n[[federation.spokes]]\n\
             name = \"b\"\naddress = \"http://127.0.0.1:1\"\n",
        )
        .expect("valid");
        assert_eq!(config.spoke.name.as_deref(), Some("a"));
        assert_eq!(config.spoke.scrollback, Some(5));
        assert_eq!(config.federation.spokes[0].name, "b");
    }

    #[test]
    fn problems_are_all_listed() {
        let err = parse("[spoke]\nscrollback = \"x\"\nnope = 1\n").expect_err("invalid");
        let text = format!("{err:#}");
        assert!(text.contains("2 problem(s)"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }
}
