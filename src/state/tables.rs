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

/// Created on open when missing.
pub const ALL: &[&str] = &[SILENCES, NFLOG, ALERTS];

pub(crate) fn bytes_table(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}
