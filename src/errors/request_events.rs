//! The errors' side of the correlation with logs: the stored events of
//! one request id (the web layer joins them with the logs' lines of the
//! same id, since `errors` and `logs` do not know each other).

use serde_json::Value;

use crate::state::tables;

use super::store::ErrorStore;
use super::{ErrorsError, event_index};

impl ErrorStore {
    /// Up to `limit` events of `request_id` (of `project` when given),
    /// newest first. Blocking.
    pub fn request_events(
        &self,
        request_id: &str,
        project: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Value>, ErrorsError> {
        if !event_index::usable_request_id(request_id) {
            return Ok(Vec::new());
        }
        let prefix = event_index::request_prefix(request_id);
        // One request makes few events; the bound keeps a hot id cheap.
        let rows = self.state.scan_prefix(
            tables::ERROR_REQUEST_EVENTS,
            &prefix,
            limit.saturating_mul(4).max(100),
        )?;
        let mut events = Vec::new();
        for (key, _) in rows {
            let event_key = &key[prefix.len()..];
            let Some(issue) = event_index::issue_of_event_key(event_key) else {
                continue;
            };
            if project.is_some_and(|p| self.issue_project(issue) != Some(p)) {
                continue;
            }
            let Some(bytes) = self.state.get(tables::ERROR_EVENTS, event_key)? else {
                continue;
            };
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => events.push(v),
                Err(e) => {
                    tracing::warn!(key = event_key, error = %e, "cannot read a stored error event; it is skipped")
                }
            }
        }
        events.sort_by(|a, b| {
            let ts = |v: &Value| v["timestamp"].as_f64().unwrap_or(0.0);
            ts(b).total_cmp(&ts(a))
        });
        events.truncate(limit);
        Ok(events)
    }
}
