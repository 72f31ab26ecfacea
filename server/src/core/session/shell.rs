//! Shell integration: bash and zsh started by vtr send prompt marks (OSC
//! 133, see `core::commands`) with no setup by the user. Their startup
//! files here read the user's own first, then add the marks:
//! - bash starts with `--rcfile` pointing at `bash.rc`;
//! - zsh starts with `ZDOTDIR` pointing at a folder with `.zshenv` and
//!   `.zshrc` (the user's `ZDOTDIR`, if any, is passed on).
//!
//! Only a shell started with no arguments is changed: anything else (a
//! script, `-c`, options) runs as asked.
//!
//! Each session's marks carry a key of its own (`vtr=KEY`, handed to the
//! shell in `VTR_MARK_KEY`, which the startup files take out of the
//! environment): output that merely contains marks (a file shown with
//! `cat`) cannot end a command or start one.

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
/// environment. The key its marks carry; `None` when it is not a shell
/// vtr knows, or has arguments.
pub fn integrate(
    dir: &Path,
    command: &str,
    args: &[String],
    env: &[String],
    builder: &mut CommandBuilder,
) -> Option<String> {
    if !args.is_empty() {
        return None;
    }
    let key = uuid::Uuid::new_v4().simple().to_string();
    match Path::new(command).file_name().and_then(|n| n.to_str()) {
        Some("bash") => {
            builder.arg("--rcfile");
            builder.arg(dir.join("bash.rc"));
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
        }
        _ => return None,
    }
    builder.env("VTR_MARK_KEY", &key);
    Some(key)
}
