//! Giving freed memory back to the system.
//!
//! glibc's allocator keeps what a burst of work freed in its arenas, for
//! reuse, so a process's RSS stays at its peak: twenty dashboards on a hub
//! listing 5,000 sessions left it at 144 MiB after they closed. After a
//! large release (a dashboard or a pane closing) [`released`] asks the
//! allocator to return its free pages, once for every release within
//! `SETTLE`, off the async threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Releases within this time are returned together.
const SETTLE: Duration = Duration::from_secs(1);

static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Something large was freed: return free memory to the system soon.
/// Must run inside a tokio runtime.
pub fn released() {
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(SETTLE).await;
        SCHEDULED.store(false, Ordering::Release);
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own state; any
    // thread may call it at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own (or not at all).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
