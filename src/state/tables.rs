//! The tables of `state.redb`. Every table maps a string key to bytes
//! (JSON documents unless a table says otherwise), so adding one is a name
//! here and nothing else.

use redb::TableDefinition;

/// Silences by id (JSON `alerting::silence::Silence`).
pub const SILENCES: &str = "silences";
/// Notification log entries by `group key / receiver / integration` (JSON).
pub const NFLOG: &str = "nflog";
/// Alerts known to the dispatcher, by fingerprint (JSON), so a restart
/// keeps alerts that are waiting for their first notification.
pub const ALERTS: &str = "alerts";

/// Read positions of tailed log files by `dev:inode` (JSON
/// `{"path", "offset"}`), written after the logs store acknowledged the
/// records before the offset.
pub const LOG_FILE_POSITIONS: &str = "log_file_positions";

/// Created on open when missing.
pub const ALL: &[&str] = &[SILENCES, NFLOG, ALERTS, LOG_FILE_POSITIONS];

pub(crate) fn bytes_table(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}
