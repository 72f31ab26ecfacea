//! `vtrpc.toml`: precedence (defaults < file < VTR_* < flags) and
//! `vtr config validate`.

use crate::harness::*;

/// Starts a spoke with `args` and `env` in a fresh config directory holding
/// `file` (if any) and returns its READY name; the spoke is stopped.
fn ready_name(file: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(text) = file {
        std::fs::create_dir_all(dir.path().join("vtr")).expect("config dir");
        std::fs::write(dir.path().join("vtr/vtrpc.toml"), text).expect("config file");
    }
    let socket = dir.path().join("s.sock").display().to_string();
    let mut all = vec!["spoke".to_owned(), "--socket".to_owned(), socket];
    all.extend(args.iter().map(|s| s.to_string()));
    let (mut child, ready) = start_process_env(&all, dir.path(), env);
    let _ = child.kill();
    let _ = child.wait();
    ready.get("name").expect("READY name").to_owned()
}

#[test]
fn each_layer_overrides_the_one_below() {
    let file = Some("[spoke]\nname = \"from-file\"\n");
    assert_eq!(
        ready_name(None, &[], &[]),
        vtr::paths::host_name(),
        "default"
    );
    assert_eq!(ready_name(file, &[], &[]), "from-file", "file over default");
    let env = [("VTR_NAME", "from-env")];
    assert_eq!(ready_name(file, &env, &[]), "from-env", "env over file");
    let flag = ["--name", "from-flag"];
    assert_eq!(ready_name(file, &env, &flag), "from-flag", "flag over env");
}

#[test]
fn an_explicit_config_file_is_used_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "[spoke]\nname = \"explicit\"\n").expect("write");
    let config = path.display().to_string();
    assert_eq!(ready_name(None, &[], &["--config", &config]), "explicit");

    std::fs::write(
        &path,
        "[spoke]\nname = \"bad name!\"\nscrollback = \"many\"\n",
    )
    .expect("write");
    let out = vtr(dir.path())
        .args(["spoke", "--config", &config, "--socket"])
        .arg(dir.path().join("s.sock"))
        .output()
        .expect("run vtr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("line 3"),
        "{stderr}"
    );
}

#[test]
fn validate_reports_every_problem_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[hub]\nlisten = \"127.0.0.1:4620\"\n\n[[federation.spokes]]\nname = \"a\"\naddress = \"https://a:1\"\n",
    )
    .expect("write");
    let out = vtr(dir.path())
        .args(["config", "validate"])
        .arg(&good)
        .output()
        .expect("run vtr");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[hub]\nlisten = \"nowhere\"\nlocal_spoke = \"yes\"\n\n[typo]\n",
    )
    .expect("write");
    let out = vtr(dir.path())
        .args(["config", "validate"])
        .arg(&bad)
        .output()
        .expect("run vtr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        ":2: `hub.listen`",
        ":3: `hub.local_spoke`",
        ":5: unknown section `typo`",
        "3 problem(s)",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from:\n{stderr}"
        );
    }
}
