//! A gRPC client we did not write: Python's grpcio (Debian's
//! python3-grpcio, installed by .ci/setup) drives every listener that
//! serves gRPC with no generated code, only what reflection tells it.
//! The client is tests/interop/grpcio_client.py; it prints a JSON report.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{Hub, Spoke};

const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/grpcio_client.py"
);

/// What a plain spoke serves, and lists.
const SPOKE_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "vtr.v1.Link",
    "vtr.v1.Vtr",
];

/// What a hub serves, and lists: a spoke's and the federation's own.
const HUB_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "vtr.v1.Federation",
    "vtr.v1.Grants",
    "vtr.v1.Link",
    "vtr.v1.Shares",
    "vtr.v1.Vtr",
];

/// The python3 that has grpcio: Debian's, where apt installs it, before
/// whichever is first on PATH (a virtualenv or pyenv one may lack it).
fn python() -> &'static str {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import grpc, google.protobuf"])
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .expect("a python3 with grpcio and protobuf: run .ci/setup (python3-grpcio)")
}

/// Runs the client against `target` and returns its report.
pub(crate) fn grpcio(target: &str, args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(CLIENT)
        .arg(target)
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("grpc_proxy")
        .output()
        .expect("run the grpcio client");
    assert!(
        out.status.success(),
        "grpcio client on {target} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON report")
}

fn unix_target(socket: &Path) -> String {
    format!("unix:{}", socket.display())
}

pub(crate) fn tcp_target(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Asserts the report of a full run: the listed services (both
/// reflection versions), health, and a session spawned, listed and read
/// through messages built from the fetched descriptors.
fn assert_report(report: &Value, services: &[&str], spoke: &str, label: &str) {
    for version in ["v1alpha", "v1"] {
        assert_eq!(
            report["services"][version],
            serde_json::json!(services),
            "services listed by reflection {version} ({label})"
        );
        let vtr = &report["methods"][version]["vtr.v1.Vtr"];
        for method in ["Spawn", "List", "GetScreen", "Subscribe", "Attach"] {
            assert!(
                vtr.as_array()
                    .is_some_and(|m| m.iter().any(|m| m == method)),
                "vtr.v1.Vtr/{method} described by reflection {version} ({label}): {vtr}"
            );
        }
        assert_eq!(
            report["methods"][version]["grpc.health.v1.Health"],
            serde_json::json!(["Check", "Watch"])
        );
    }
    assert_eq!(
        report["methods"]["v1alpha"], report["methods"]["v1"],
        "both reflection versions describe the same methods ({label})"
    );
    assert_eq!(report["health"], "SERVING", "{label}");
    let name = format!("py-{label}");
    assert_eq!(
        report["spawned"],
        serde_json::json!({"name": name, "spoke": spoke, "cols": 100, "rows": 30}),
        "{label}"
    );
    assert!(
        report["listed"]
            .as_array()
            .is_some_and(|l| l.iter().any(|s| *s == format!("{spoke}:{name}"))),
        "List shows the session ({label}): {}",
        report["listed"]
    );
    assert!(
        report["watched"]
            .as_array()
            .is_some_and(|l| l.iter().any(|s| *s == format!("{spoke}:{name}"))),
        "WatchSessions' first list shows the session ({label}): {}",
        report["watched"]
    );
    assert_eq!(
        report["screen"],
        serde_json::json!({
            "cols": 100,
            "rows": 30,
            "first_line": format!("hello from grpcio over {label}"),
        }),
        "{label}"
    );
    // Input and output on one vtr.v1.Link stream: input applied in order,
    // each request answered by id, failures answered with the unary call's
    // status; the watch starts with a snapshot and carries the output.
    assert_eq!(
        report["link"],
        serde_json::json!({
            "replies": {
                "1": "OK", "2": "OK", "3": "OK", "4": "NOT_FOUND", "5": "INVALID_ARGUMENT",
                "10": "watching", "11": "NOT_FOUND",
            },
            "offsets_rise": true,
            "events": ["snapshot", "output"],
            "output": "one\r\ntwo\r\nthree\r\n",
            "lines": ["one", "two", "three"],
        }),
        "{label}"
    );
    // Run in a bash the spoke started: the command's exit code and output.
    assert_eq!(
        report["run"],
        serde_json::json!({
            "end": "RUN_END_FINISHED",
            "exit_code": 5,
            "output": "x\n",
            "listed": [[1, "printf 'x\\n'; (exit 5)", 5]],
            "shell_integration": true,
        }),
        "{label}"
    );
}

fn token_arg(path: &Path) -> [String; 2] {
    ["--token".to_owned(), path.display().to_string()]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn grpcio_calls_every_spoke_listener() {
    let spoke = Spoke::start_with(&["--listen", "127.0.0.1:0"]);
    let socket = spoke.socket.display().to_string();
    let report = grpcio(&unix_target(&spoke.socket), &["--label", "unix"]);
    assert_report(&report, SPOKE_SERVICES, "test", "unix");
    let report = grpcio(&format!("unix://{socket}"), &["--label", "unix-uri"]);
    assert_report(&report, SPOKE_SERVICES, "test", "unix-uri");

    let token: PathBuf = spoke.token_file().expect("--listen makes a token");
    let token = token_arg(&token);
    let mut args = strs(&token);
    args.extend(["--label", "tcp"]);
    let report = grpcio(&tcp_target(&spoke.url()), &args);
    assert_report(&report, SPOKE_SERVICES, "test", "tcp");
}

#[test]
fn grpcio_calls_every_hub_listener() {
    let hub = Hub::start(&[], &[]);
    let report = grpcio(&unix_target(&hub.socket), &["--label", "unix"]);
    assert_report(&report, HUB_SERVICES, "hub", "unix");

    let token = token_arg(&hub.token_file());
    let mut args = strs(&token);
    args.extend(["--label", "tcp"]);
    let report = grpcio(&tcp_target(&hub.url()), &args);
    assert_report(&report, HUB_SERVICES, "hub", "tcp");
}

/// The TCP ports still want the token from a client we did not write.
#[test]
fn grpcio_without_a_token_is_refused_over_tcp() {
    let hub = Hub::start(&[], &[]);
    let report = grpcio(&tcp_target(&hub.url()), &["--probe"]);
    assert_eq!(report["health_code"], "UNAUTHENTICATED", "hub: {report}");

    let spoke = Spoke::start_with(&["--listen", "127.0.0.1:0"]);
    let report = grpcio(&tcp_target(&spoke.url()), &["--probe"]);
    assert_eq!(report["health_code"], "UNAUTHENTICATED", "spoke: {report}");
}

/// The `:authority` other gRPC clients send on a Unix socket: grpc-java and
/// older grpcurl the socket path, grpc-core since 1.58 (PyPI's grpcio) the
/// path percent-encoded. Debian's grpcio sends `localhost`, so the client
/// is told to send each of the others.
fn path_authorities(socket: &Path) -> [String; 2] {
    let path = socket.display().to_string();
    let encoded = path.replace('/', "%2F");
    [path, encoded]
}

#[test]
fn a_socket_path_as_authority_is_taken_on_unix_sockets() {
    let spoke = Spoke::start();
    let hub = Hub::start(&[], &[]);
    for (socket, services, name) in [
        (&spoke.socket, SPOKE_SERVICES, "test"),
        (&hub.socket, HUB_SERVICES, "hub"),
    ] {
        let [path, encoded] = path_authorities(socket);
        let report = grpcio(
            &unix_target(socket),
            &["--authority", &path, "--label", "path"],
        );
        assert_report(&report, services, name, "path");
        let report = grpcio(
            &unix_target(socket),
            &["--authority", &encoded, "--label", "encoded"],
        );
        assert_report(&report, services, name, "encoded");
    }
}

/// Only the Unix sockets take them: a TCP port still refuses an authority
/// that is not one, before its door looks at the host.
#[test]
fn a_path_as_authority_is_still_refused_over_tcp() {
    let hub = Hub::start(&[], &[]);
    let token = token_arg(&hub.token_file());
    let mut args = strs(&token);
    args.extend(["--probe", "--authority", "/tmp/vtr.sock"]);
    let report = grpcio(&tcp_target(&hub.url()), &args);
    assert_eq!(report["health_code"], "INTERNAL", "{report}");

    let mut args = strs(&token);
    args.extend(["--probe"]);
    let report = grpcio(&tcp_target(&hub.url()), &args);
    assert_eq!(
        report["health_code"], "OK",
        "the same call with its authority: {report}"
    );
}
