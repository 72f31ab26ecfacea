//! Hub counters and their Prometheus text exposition.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Inner;
use super::spoke::SpokeState;
use crate::core::session::lock;

#[derive(Default)]
pub struct Counters {
    /// Output bytes received from spokes' streams and fanned out.
    pub bytes_forwarded: AtomicU64,
    /// Failed calls routed to a spoke, by spoke.
    rpc_errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub fn rpc_error(&self, spoke: &str) {
        *lock(&self.rpc_errors).entry(spoke.to_owned()).or_default() += 1;
    }

    pub fn forwarded(&self, bytes: usize) {
        self.bytes_forwarded
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

pub fn render(inner: &Inner) -> String {
    let spokes: Vec<_> = inner.entries().iter().map(|e| e.status()).collect();
    let mut text = String::new();
    header(&mut text, "vtr_spokes", "gauge", "Spokes by state.");
    for state in [
        SpokeState::Connecting,
        SpokeState::Healthy,
        SpokeState::Degraded,
        SpokeState::Unreachable,
    ] {
        let n = spokes.iter().filter(|s| s.state == state).count();
        let _ = writeln!(text, "vtr_spokes{{state=\"{}\"}} {n}", state.as_str());
    }
    header(
        &mut text,
        "vtr_sessions",
        "gauge",
        "Sessions by spoke, as last seen.",
    );
    for s in &spokes {
        let _ = writeln!(text, "vtr_sessions{{spoke=\"{}\"}} {}", s.name, s.sessions);
    }
    header(
        &mut text,
        "vtr_subscribers",
        "gauge",
        "Streams the hub serves from its upstream streams of remote spokes' sessions \
         (subscribers of the embedded spoke's sessions read them directly).",
    );
    let _ = writeln!(text, "vtr_subscribers {}", inner.fanout.subscribers());
    header(
        &mut text,
        "vtr_upstream_streams",
        "gauge",
        "Streams the hub holds open to spokes (one per watched session).",
    );
    let _ = writeln!(text, "vtr_upstream_streams {}", inner.fanout.upstreams());
    header(
        &mut text,
        "vtr_bytes_forwarded_total",
        "counter",
        "Output bytes received from spokes and fanned out to subscribers.",
    );
    let _ = writeln!(
        text,
        "vtr_bytes_forwarded_total {}",
        inner.counters.bytes_forwarded.load(Ordering::Relaxed)
    );
    header(
        &mut text,
        "vtr_rpc_errors_total",
        "counter",
        "Failed calls routed to a spoke, by spoke.",
    );
    for (spoke, n) in lock(&inner.counters.rpc_errors).iter() {
        let _ = writeln!(text, "vtr_rpc_errors_total{{spoke=\"{spoke}\"}} {n}");
    }
    header(
        &mut text,
        "vtr_spoke_rtt_seconds",
        "gauge",
        "Round trip of the last probe, by spoke.",
    );
    for s in &spokes {
        if let Some(rtt) = s.rtt {
            let _ = writeln!(
                text,
                "vtr_spoke_rtt_seconds{{spoke=\"{}\"}} {:.6}",
                s.name,
                rtt.as_secs_f64()
            );
        }
    }
    text
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
