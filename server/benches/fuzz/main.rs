//! A fuzz harness for every parser of network or untrusted input, on
//! stable Rust and without a special toolchain.
//!
//! This is not coverage-guided: inputs come from a seeded PRNG, mixing
//! random bytes, mutations of a corpus of valid inputs built per target
//! (real protobuf requests, real signed tokens, real config files), and
//! inputs generated from each target's structure. It finds panics, slow
//! inputs and broken properties near valid inputs well; it will not dig
//! deep branches the way libFuzzer would. Same seed, same inputs.
//!
//! Each target checks more than "no panic": decode-then-encode round trips,
//! that validators never accept what they must refuse, and that no input
//! takes over `SLOW` (a quadratic loop or a pathological regex).
//!
//! ```text
//! cargo bench --bench fuzz -- [TARGET...] [--iterations N] [--seed S]
//! cargo bench --bench fuzz -- TARGET --replay FILE
//! cargo bench --bench fuzz -- --list
//! ```
//! `VTR_FUZZ_ITERATIONS` and `VTR_FUZZ_SEED` set the defaults. A failing
//! input is printed in hex and saved under `$CARGO_TARGET_TMPDIR/fuzz/`;
//! the exit status is 1 if any target failed.

mod edge;
mod front;
mod grant;
mod grpc;
mod input;
mod marks;
mod props;
mod text;
mod unix_h2;
mod web;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use input::Inputs;

/// Inputs per target by default: a CI smoke run of a few seconds.
const DEFAULT_ITERATIONS: u64 = 20_000;
/// Longer than this for one input (twice) is a failure.
const SLOW: Duration = Duration::from_millis(100);

/// One parser and the properties it must keep.
pub struct Target {
    pub name: &'static str,
    /// Valid inputs, the corpus mutations start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens worth inserting (keywords, separators, prefixes).
    pub dictionary: &'static [&'static [u8]],
    /// An input built from the target's structure.
    pub generate: fn(&mut fastrand::Rng) -> Vec<u8>,
    /// Runs one input; panics when a property does not hold.
    pub run: fn(&[u8]),
}

fn targets() -> Vec<Target> {
    vec![
        web::pane(),
        web::dashboard(),
        grpc::requests(),
        grpc::from_spoke(),
        edge::tunnel(),
        edge::share_token(),
        grant::grant_token(),
        front::auth(),
        front::origin(),
        text::config(),
        text::cli(),
        unix_h2::target(),
        marks::target(),
    ]
}

/// The message of the last panic, kept by the hook instead of printed (a
/// million caught panics would flood the log).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

struct Options {
    names: Vec<String>,
    iterations: u64,
    seed: u64,
    replay: Option<PathBuf>,
    list: bool,
}

fn options() -> Result<Options, String> {
    let env_number = |name: &str, default: u64| match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    };
    let mut o = Options {
        names: vec![],
        iterations: env_number("VTR_FUZZ_ITERATIONS", DEFAULT_ITERATIONS)?,
        seed: env_number("VTR_FUZZ_SEED", 1)?,
        replay: None,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--list" => o.list = true,
            "--iterations" => {
                let v = value(&arg)?;
                o.iterations = v.parse().map_err(|_| format!("--iterations {v:?}"))?;
            }
            "--seed" => {
                let v = value(&arg)?;
                o.seed = v.parse().map_err(|_| format!("--seed {v:?}"))?;
            }
            "--replay" => o.replay = Some(value(&arg)?.into()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            name => o.names.push(name.to_owned()),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let all = targets();
    if o.list {
        all.iter().for_each(|t| println!("{}", t.name));
        return ExitCode::SUCCESS;
    }
    if let Some(unknown) = o.names.iter().find(|n| !all.iter().any(|t| t.name == *n)) {
        eprintln!("fuzz: no target {unknown:?} (see --list)");
        return ExitCode::from(2);
    }
    let chosen: Vec<&Target> = all
        .iter()
        .filter(|t| o.names.is_empty() || o.names.contains(&t.name.to_owned()))
        .collect();
    std::panic::set_hook(Box::new(|info| {
        let text = format!("{info}");
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(text);
        }
    }));
    if let Some(path) = &o.replay {
        return replay(&chosen, path);
    }
    println!(
        "fuzz: {} input(s) per target, seed {} (not coverage-guided)",
        o.iterations, o.seed
    );
    println!(
        "{:<14} {:>10} {:>10} {:>8} {:>6}",
        "target", "execs", "execs/s", "crashes", "slow"
    );
    let mut failed = false;
    for target in chosen {
        let report = fuzz(target, o.iterations, o.seed);
        println!(
            "{:<14} {:>10} {:>10.0} {:>8} {:>6}",
            target.name, report.execs, report.per_second, report.crashes, report.slow
        );
        if let Some(first) = report.first_failure {
            failed = true;
            println!("  first failure: {}", first.why);
            println!(
                "  input ({} bytes): {}",
                first.input.len(),
                hex(&first.input)
            );
            match save(target.name, &first.input) {
                Ok(path) => println!(
                    "  saved: {} (replay: cargo bench --bench fuzz -- {} --replay {})",
                    path.display(),
                    target.name,
                    path.display()
                ),
                Err(e) => println!("  not saved: {e}"),
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

struct Failure {
    input: Vec<u8>,
    why: String,
}

struct Report {
    execs: u64,
    per_second: f64,
    crashes: u64,
    slow: u64,
    first_failure: Option<Failure>,
}

enum Outcome {
    Passed(Duration),
    Panicked(String),
}

fn exec(target: &Target, input: &[u8]) -> Outcome {
    let start = Instant::now();
    match catch_unwind(AssertUnwindSafe(|| (target.run)(input))) {
        Ok(()) => Outcome::Passed(start.elapsed()),
        Err(_) => {
            let message = LAST_PANIC.lock().ok().and_then(|mut m| m.take());
            Outcome::Panicked(message.unwrap_or_else(|| "panic".to_owned()))
        }
    }
}

fn fuzz(target: &Target, iterations: u64, seed: u64) -> Report {
    let mut inputs = Inputs::new(target, seed);
    let mut report = Report {
        execs: 0,
        per_second: 0.0,
        crashes: 0,
        slow: 0,
        first_failure: None,
    };
    let start = Instant::now();
    for _ in 0..iterations {
        let input = inputs.next();
        report.execs += 1;
        let why = match exec(target, &input) {
            Outcome::Passed(took) if took <= SLOW => continue,
            // Timing on a busy machine varies: slow twice, or it was the
            // machine.
            Outcome::Passed(_) => match exec(target, &input) {
                Outcome::Passed(took) if took <= SLOW => continue,
                Outcome::Passed(took) => {
                    report.slow += 1;
                    format!("slow: {took:?} for one input (limit {SLOW:?})")
                }
                Outcome::Panicked(message) => {
                    report.crashes += 1;
                    message
                }
            },
            Outcome::Panicked(message) => {
                report.crashes += 1;
                message
            }
        };
        report.first_failure.get_or_insert(Failure { input, why });
    }
    report.per_second = report.execs as f64 / start.elapsed().as_secs_f64().max(1e-9);
    report
}

/// Runs one saved input on each chosen target, saying what happened.
fn replay(chosen: &[&Target], path: &std::path::Path) -> ExitCode {
    let input = match std::fs::read(path) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("fuzz: reading {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let mut status = ExitCode::SUCCESS;
    for target in chosen {
        match exec(target, &input) {
            Outcome::Passed(took) => println!("{}: passed in {took:?}", target.name),
            Outcome::Panicked(message) => {
                println!("{}: FAILED: {message}", target.name);
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn save(target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    let dir = option_env!("CARGO_TARGET_TMPDIR")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join("fuzz");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{target}.crash"));
    std::fs::write(&path, input)?;
    Ok(path)
}

fn hex(bytes: &[u8]) -> String {
    // Long inputs are cut in the log; the saved file has all of it.
    let shown = &bytes[..bytes.len().min(256)];
    let mut text: String = shown.iter().map(|b| format!("{b:02x}")).collect();
    if shown.len() < bytes.len() {
        text.push_str("...");
    }
    text
}
