//! Shell integration: bash and zsh started by vtr send prompt marks (OSC
//! 133, see `core::commands`) with no setup by the user. Their startup
//! files here read the user's own first, then add the marks:
//! - bash starts with `--rcfile` pointing at `bash.rc`;
//! - zsh starts with `ZDOTDIR` pointing at a folder with `.zshenv` and
//!   `.zshrc` (the user's `ZDOTDIR`, if any, is passed on).
//!
//! Only a shell started with no arguments is changed: anything else (a
//! script, `-c`, options) runs as asked.

use std::io::Write;
use std::path::{Path, PathBuf};

use portable_pty::CommandBuilder;

const BASH_RC: &str = include_str!("shell/bash.rc");
const ZSH_ENV: &str = include_str!("shell/zshenv");
const ZSH_RC: &str = include_str!("shell/zshrc");

/// Writes the startup files into `dir` (created if missing), each by an
/// atomic rename: spokes sharing the folder never read half a file.
pub fn install(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("zsh"))?;
    for (path, text) in [
        (dir.join("bash.rc"), BASH_RC),
        (dir.join("zsh/.zshenv"), ZSH_ENV),
        (dir.join("zsh/.zshrc"), ZSH_RC),
    ] {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// Adds to `builder` what makes `command` (run with `args`) send prompt
/// marks, from the files in `dir`; `env` is the session's extra
/// environment. False when it is not a shell vtr knows, or has arguments.
pub fn integrate(
    dir: &Path,
    command: &str,
    args: &[String],
    env: &[String],
    builder: &mut CommandBuilder,
) -> bool {
    if !args.is_empty() {
        return false;
    }
    match Path::new(command).file_name().and_then(|n| n.to_str()) {
        Some("bash") => {
            builder.arg("--rcfile");
            builder.arg(dir.join("bash.rc"));
            true
        }
        Some("zsh") => {
            let asked = env
                .iter()
                .find_map(|kv| kv.strip_prefix("ZDOTDIR="))
                .map(PathBuf::from);
            if let Some(user) = asked.or_else(|| std::env::var_os("ZDOTDIR").map(PathBuf::from)) {
                builder.env("VTR_USER_ZDOTDIR", user);
            }
            builder.env("ZDOTDIR", dir.join("zsh"));
            true
        }
        _ => false,
    }
}
