//! What the status endpoints report about the running server: the
//! configuration in effect, the command-line settings, start and reload
//! times, and the WAL replay at start.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::tsdb::WalReplayStatus;

/// The outcome of the last configuration load.
#[derive(Clone, Copy, Debug)]
pub struct ReloadOutcome {
    pub success: bool,
    /// When the configuration in effect was loaded.
    pub last_config_time: SystemTime,
}

pub struct StatusInfo {
    config: RwLock<Arc<Config>>,
    /// Command-line settings by flag name (`config`, `data-dir`, `listen`).
    pub flags: BTreeMap<String, String>,
    pub listen: SocketAddr,
    pub start_time: SystemTime,
    pub wal_replay: WalReplayStatus,
    reload: Mutex<ReloadOutcome>,
}

impl StatusInfo {
    pub fn new(
        config: Config,
        flags: BTreeMap<String, String>,
        listen: SocketAddr,
        wal_replay: WalReplayStatus,
    ) -> Self {
        let now = SystemTime::now();
        StatusInfo {
            config: RwLock::new(Arc::new(config)),
            flags,
            listen,
            start_time: now,
            wal_replay,
            reload: Mutex::new(ReloadOutcome {
                success: true,
                last_config_time: now,
            }),
        }
    }

    /// The configuration in effect.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().clone()
    }

    /// A reload put `config` in effect.
    pub fn config_applied(&self, config: Config) {
        *self.config.write() = Arc::new(config);
        *self.reload.lock() = ReloadOutcome {
            success: true,
            last_config_time: SystemTime::now(),
        };
    }

    /// A reload failed; the running configuration stays.
    pub fn reload_failed(&self) {
        self.reload.lock().success = false;
    }

    pub fn reload(&self) -> ReloadOutcome {
        *self.reload.lock()
    }
}
