//! The hub: a registry of spokes (embedded, dialled, tunnelled), their
//! health and circuit breakers, and one `Coordinator` over all of them that
//! routes `spoke:session` addresses and merges session lists.

mod breaker;
mod fanout;
pub mod grants;
mod metrics;
mod monitor;
pub mod pins;
pub mod presence;
mod route;
pub mod secret;
pub mod share;
pub mod signins;
mod spoke;
pub mod state_db;
mod view;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

pub use breaker::backoff;
pub use spoke::{Join, SpokeHandle, SpokeState, SpokeStatus};

use crate::core::changes;
use crate::core::session::lock;
use fanout::Fanout;
use metrics::Counters;
use spoke::Entry;

/// Cheap to clone; clones share the hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// What every clone of a `Hub` shares: its spokes, their change counter,
/// the fan-out of live streams and the counters.
pub(crate) struct Inner {
    name: String,
    /// In the order they joined: local, configured, then tunnelled.
    spokes: Mutex<Vec<Arc<Entry>>>,
    /// Bumped on every change a spoke or session list would show.
    changed: watch::Sender<u64>,
    /// The merged session list as of a value of `changed`, shared by every
    /// dashboard (see `Hub::watch_merged`).
    merged: Mutex<Option<(u64, Arc<[crate::core::SessionSummary]>)>>,
    fanout: Fanout,
    counters: Counters,
    /// Numbers tunnels, so a late close of an old one is ignored.
    tunnels: std::sync::atomic::AtomicU64,
}

impl Inner {
    fn changed(&self) {
        changes::bump(&self.changed);
    }

    fn entries(&self) -> Vec<Arc<Entry>> {
        lock(&self.spokes).clone()
    }

    fn next_tunnel(&self) -> u64 {
        self.tunnels
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn entry(&self, name: &str) -> Option<Arc<Entry>> {
        lock(&self.spokes).iter().find(|e| e.name == name).cloned()
    }
}

/// Why a spoke could not join.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    #[error("spoke name {name:?} is already taken by a connected spoke ({how})")]
    NameTaken { name: String, how: String },
}

impl Hub {
    pub fn new(name: String) -> Self {
        Hub {
            inner: Arc::new(Inner {
                name,
                spokes: Mutex::new(Vec::new()),
                changed: watch::Sender::new(0),
                merged: Mutex::new(None),
                fanout: Fanout::default(),
                counters: Counters::default(),
                tunnels: Default::default(),
            }),
        }
    }

    /// The hub's own name (also its embedded spoke's).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Adds a spoke and starts watching its health. Names are unique.
    pub fn add_spoke(
        &self,
        name: String,
        join: Join,
        handle: SpokeHandle,
    ) -> Result<(), JoinError> {
        let entry = {
            let mut spokes = lock(&self.inner.spokes);
            if let Some(taken) = spokes.iter().find(|e| e.name == name) {
                return Err(JoinError::NameTaken {
                    name,
                    how: describe_join(&taken.join),
                });
            }
            let entry = Entry::new(name, join, Some(handle));
            spokes.push(entry.clone());
            entry
        };
        tokio::spawn(monitor::run(self.inner.clone(), entry));
        self.inner.changed();
        Ok(())
    }

    /// Whether a tunnel naming `name` may join now (checked before the
    /// upgrade, so the spoke hears why not).
    pub fn tunnel_available(&self, name: &str, instance: &str) -> Result<(), JoinError> {
        let Some(entry) = self.inner.entry(name) else {
            return Ok(());
        };
        let same_instance = entry.instance().as_deref() == Some(instance);
        match &entry.join {
            Join::Tunnelled { .. } if !entry.connected() || same_instance => Ok(()),
            join => Err(JoinError::NameTaken {
                name: name.to_owned(),
                how: describe_join(join),
            }),
        }
    }

    /// A tunnelled spoke joins (or rejoins). Refused while another
    /// instance holds the name; the same instance reconnecting replaces its
    /// old tunnel. Returns a number that `tunnel_closed` must present.
    pub fn claim_tunnel(
        &self,
        name: &str,
        peer: &str,
        instance: &str,
        handle: SpokeHandle,
    ) -> Result<u64, JoinError> {
        let generation = self.inner.next_tunnel();
        let mut spokes = lock(&self.inner.spokes);
        // One expected since the hub started gives way to the real one
        // (with its peer address).
        if let Some(i) = spokes.iter().position(|e| e.name == name && e.expected()) {
            spokes.remove(i).stop.cancel();
        }
        if let Some(entry) = spokes.iter().find(|e| e.name == name).cloned() {
            drop(spokes);
            self.tunnel_available(name, instance)?;
            entry.set_tunnel(handle, generation);
        } else {
            let join = Join::Tunnelled {
                peer: peer.to_owned(),
            };
            let entry = Entry::new(name.to_owned(), join, None);
            entry.set_tunnel(handle, generation);
            spokes.push(entry.clone());
            drop(spokes);
            tokio::spawn(monitor::run(self.inner.clone(), entry));
        }
        self.inner.changed();
        Ok(generation)
    }

    /// Lists a tunnelled spoke that joined before the hub (re)started and
    /// has not reconnected yet: until it does, calls for its sessions get
    /// UNAVAILABLE (come back later) rather than "no such spoke". Forgotten
    /// like any spoke whose tunnel is gone.
    pub fn expect_tunnel(&self, name: &str) {
        let entry = {
            let mut spokes = lock(&self.inner.spokes);
            if spokes.iter().any(|e| e.name == name) {
                return;
            }
            let join = Join::Tunnelled {
                peer: String::new(),
            };
            let entry = Entry::new(name.to_owned(), join, None);
            entry.clear_tunnel(0);
            spokes.push(entry.clone());
            entry
        };
        tokio::spawn(monitor::run(self.inner.clone(), entry));
        self.inner.changed();
    }

    /// A tunnel's connection ended; its spoke stays listed (stale) until
    /// it comes back.
    pub fn tunnel_closed(&self, name: &str, generation: u64) {
        if let Some(entry) = self.inner.entry(name) {
            entry.clear_tunnel(generation);
            self.inner.changed();
        }
    }

    /// Forgets tunnelled spokes whose tunnel has been closed for `long`
    /// (their sessions stop being listed as stale); their names.
    pub fn forget_gone_tunnels(&self, long: std::time::Duration) -> Vec<String> {
        let gone: Vec<Arc<Entry>> = {
            let mut spokes = lock(&self.inner.spokes);
            let (gone, kept) = spokes.drain(..).partition(|e| e.tunnel_gone_for(long));
            *spokes = kept;
            gone
        };
        for entry in &gone {
            entry.stop.cancel();
            tracing::info!(spoke = %entry.name, "forgot a tunnelled spoke gone for {long:?}");
        }
        if !gone.is_empty() {
            self.inner.changed();
        }
        gone.iter().map(|e| e.name.clone()).collect()
    }

    pub fn spokes(&self) -> Vec<SpokeStatus> {
        self.inner.entries().iter().map(|e| e.status()).collect()
    }

    /// The spoke list now, then after every change.
    pub fn watch_spokes(&self) -> mpsc::Receiver<Vec<SpokeStatus>> {
        let hub = self.clone();
        changes::watch_changes(&self.inner.changed, move || hub.spokes())
    }

    /// Prometheus text exposition of the hub's metrics.
    pub fn metrics(&self) -> String {
        metrics::render(&self.inner)
    }

    /// Stops every monitor and upstream stream.
    pub fn shutdown(&self) {
        for entry in self.inner.entries() {
            entry.stop.cancel();
        }
    }
}

fn describe_join(join: &Join) -> String {
    match join {
        Join::Local => "the hub's embedded spoke".to_owned(),
        Join::Dialled { address } => format!("dialled at {address}"),
        Join::Tunnelled { peer } => format!("tunnelled from {peer}"),
    }
}
