//! Shell completions and manual pages, generated from the same clap
//! definition the parser uses, so they never drift from the flags.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::exit::ExitCode;
use super::output::stdout_error;

/// `vtr completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = super::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "vtr", &mut script);
    write_stdout(&script)?;
    Ok(ExitCode::Ok)
}

/// `vtr man`: vtr.1 on stdout; with a directory, vtr.1 and one page per
/// command (`vtr-spawn.1`, `vtr-share-create.1`, ...) written there.
pub fn man(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let command = super::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            write_stdout(&page)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))?;
        }
    }
    Ok(ExitCode::Ok)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}
