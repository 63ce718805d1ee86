//! Cancelling a running query from another thread (e.g. when the HTTP
//! client goes away), and the timeout a request asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct QueryControl {
    canceled: Arc<AtomicBool>,
    timeout: Option<Duration>,
}

impl QueryControl {
    pub fn with_timeout(timeout: Duration) -> Self {
        QueryControl {
            canceled: Arc::default(),
            timeout: Some(timeout),
        }
    }

    pub fn cancel(&self) {
        self.canceled.store(true, Ordering::Relaxed);
    }

    pub fn is_canceled(&self) -> bool {
        self.canceled.load(Ordering::Relaxed)
    }

    /// The timeout asked for, if any (the engine caps it at its own).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}
