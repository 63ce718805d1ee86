//! Event attachments (`attachment` items: a log file, a screenshot, a
//! config dump the SDK's scope carries), tied to the envelope's event.
//!
//! Kept in `state.redb` rather than as files under the data directory:
//! one write makes an attachment's bytes and its listing durable together
//! (no file without its row after a crash, nor a row without its file),
//! and deleting an event's attachments is one key range in each table.
//! The size limits bound what that costs: each attachment is at most
//! `errors.limits.max_attachment_bytes`, a project's together at most
//! `max_attachment_bytes_per_project`; refusals are counted by reason.
//!
//! Keys are `PROJECT/EVENT_ID/NAME` in `error_attachments` (JSON: name,
//! content type, attachment type, size) and `error_attachment_data` (the
//! bytes). [`AttachmentStore::delete_event`] removes one event's, for
//! the events' retention.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::state::{StateStore, StateWriter, WriteOp, tables};

use super::ErrorsError;
use super::event::normalize_id;

/// Attachments one event may list (a bound on the listing's work).
const MAX_PER_EVENT: usize = 100;

/// One attachment as listed with its event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    pub name: String,
    pub content_type: String,
    /// Sentry's `attachment_type` (`event.attachment`, `event.minidump`, …).
    pub attachment_type: String,
    pub size: u64,
}

/// An attachment item ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub event_id: String,
    pub meta: AttachmentMeta,
    pub data: Vec<u8>,
}

/// Reads an attachment item's header. `event_id` is the envelope's.
pub fn parse_attachment(
    header: &serde_json::Map<String, serde_json::Value>,
    payload: &[u8],
    event_id: Option<&str>,
) -> Result<Attachment, ErrorsError> {
    let bad = |message: String| ErrorsError::BadItem {
        item: "attachment",
        message,
    };
    let event_id = event_id
        .and_then(normalize_id)
        .ok_or_else(|| bad("the envelope header has no event_id to tie the attachment to".into()))?;
    let text = |k: &str| header.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let name = text("filename").ok_or_else(|| bad("the item header has no \"filename\"".into()))?;
    if name.is_empty() || name.len() > 256 || name.contains('/') || name.chars().any(char::is_control) {
        return Err(bad(format!(
            "\"filename\": {name:?} must be 1 to 256 characters without '/' or control characters"
        )));
    }
    Ok(Attachment {
        event_id,
        meta: AttachmentMeta {
            name,
            content_type: text("content_type").unwrap_or_else(|| "application/octet-stream".into()),
            attachment_type: text("attachment_type").unwrap_or_else(|| "event.attachment".into()),
            size: payload.len() as u64,
        },
        data: payload.to_vec(),
    })
}

pub struct AttachmentStore {
    state: Arc<StateStore>,
    writer: StateWriter,
    max_per_project: u64,
    /// Bytes stored per project.
    totals: Mutex<HashMap<u64, u64>>,
}

fn event_prefix(project: u64, event_id: &str) -> String {
    format!("{project:020}/{event_id}/")
}

impl AttachmentStore {
    /// Sums what each project stores. Blocking.
    pub fn open(
        state: Arc<StateStore>,
        writer: StateWriter,
        max_per_project: u64,
    ) -> Result<Self, ErrorsError> {
        let mut totals: HashMap<u64, u64> = HashMap::new();
        for (key, value) in state.scan(tables::ERROR_ATTACHMENTS)? {
            let project = key.split('/').next().and_then(|p| p.parse::<u64>().ok());
            if let (Some(p), Ok(meta)) = (project, serde_json::from_slice::<AttachmentMeta>(&value)) {
                *totals.entry(p).or_default() += meta.size;
            }
        }
        Ok(AttachmentStore {
            state,
            writer,
            max_per_project,
            totals: Mutex::new(totals),
        })
    }

    /// Bytes `project`'s attachments take.
    pub fn total(&self, project: u64) -> u64 {
        self.totals.lock().get(&project).copied().unwrap_or(0)
    }

    /// Stores one attachment (replacing one of the same name on the same
    /// event) unless the project's cap would be passed; returns once
    /// durable.
    pub async fn store(&self, project: u64, a: Attachment) -> Result<(), ErrorsError> {
        let key = format!("{}{}", event_prefix(project, &a.event_id), a.meta.name);
        let state = self.state.clone();
        let k = key.clone();
        let replaced = tokio::task::spawn_blocking(move || state.get(tables::ERROR_ATTACHMENTS, &k))
            .await
            .map_err(|e| ErrorsError::BadRequest(format!("attachment task failed: {e}")))??
            .and_then(|v| serde_json::from_slice::<AttachmentMeta>(&v).ok())
            .map_or(0, |m| m.size);
        {
            let mut totals = self.totals.lock();
            let total = totals.entry(project).or_default();
            let after = (*total - replaced.min(*total)) + a.meta.size;
            if after > self.max_per_project {
                return Err(ErrorsError::TooLarge {
                    what: "the project's attachments",
                    size: after,
                    limit: self.max_per_project,
                    key: "max_attachment_bytes_per_project",
                });
            }
            *total = after;
        }
        let meta = serde_json::to_vec(&a.meta).expect("attachment metadata serializes");
        let ops = vec![
            WriteOp::put(tables::ERROR_ATTACHMENTS, key.clone(), meta),
            WriteOp::put(tables::ERROR_ATTACHMENT_DATA, key, a.data),
        ];
        if let Err(e) = self.writer.write(ops).await {
            let mut totals = self.totals.lock();
            if let Some(t) = totals.get_mut(&project) {
                *t = t.saturating_sub(a.meta.size);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// An event's attachments, by name. Blocking.
    pub fn list(&self, project: u64, event_id: &str) -> Result<Vec<AttachmentMeta>, ErrorsError> {
        let rows = self.state.scan_prefix_rev(
            tables::ERROR_ATTACHMENTS,
            &event_prefix(project, event_id),
            None,
            MAX_PER_EVENT,
        )?;
        let mut metas: Vec<AttachmentMeta> = rows
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        metas.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(metas)
    }

    /// One attachment's metadata and bytes. Blocking.
    pub fn get(
        &self,
        project: u64,
        event_id: &str,
        name: &str,
    ) -> Result<(AttachmentMeta, Vec<u8>), ErrorsError> {
        let key = format!("{}{name}", event_prefix(project, event_id));
        let not_found = || {
            ErrorsError::NotFound(format!(
                "event {event_id} of project {project} has no attachment {name:?}"
            ))
        };
        let meta = self
            .state
            .get(tables::ERROR_ATTACHMENTS, &key)?
            .ok_or_else(not_found)?;
        let meta: AttachmentMeta = serde_json::from_slice(&meta).map_err(|_| not_found())?;
        let data = self
            .state
            .get(tables::ERROR_ATTACHMENT_DATA, &key)?
            .ok_or_else(not_found)?;
        Ok((meta, data))
    }

    /// Deletes every attachment of one event and returns the bytes freed;
    /// the events' retention calls it for each event it removes. Blocking:
    /// returns once the deletion is durable.
    pub fn delete_event(&self, project: u64, event_id: &str) -> Result<u64, ErrorsError> {
        let prefix = event_prefix(project, event_id);
        let rows = self
            .state
            .scan_prefix_rev(tables::ERROR_ATTACHMENTS, &prefix, None, usize::MAX)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut freed = 0;
        let mut ops = Vec::with_capacity(rows.len() * 2);
        for (key, value) in rows {
            if let Ok(meta) = serde_json::from_slice::<AttachmentMeta>(&value) {
                freed += meta.size;
            }
            ops.push(WriteOp::delete(tables::ERROR_ATTACHMENT_DATA, key.clone()));
            ops.push(WriteOp::delete(tables::ERROR_ATTACHMENTS, key));
        }
        self.writer.write_blocking(ops)?;
        if let Some(t) = self.totals.lock().get_mut(&project) {
            *t = t.saturating_sub(freed);
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EVENT: &str = "0123456789abcdef0123456789abcdef";

    fn item(name: &str, data: &[u8]) -> Attachment {
        let header = json!({"type": "attachment", "filename": name, "content_type": "text/plain"});
        parse_attachment(header.as_object().unwrap(), data, Some(EVENT)).unwrap()
    }

    #[tokio::test]
    async fn stores_lists_caps_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(dir.path()).unwrap();
        let store =
            Arc::new(AttachmentStore::open(state.clone(), StateWriter::start(state.clone()), 10).unwrap());
        store.store(1, item("a.txt", b"hello")).await.unwrap();
        store.store(1, item("a.txt", b"hola!")).await.unwrap();
        assert_eq!(store.total(1), 5);
        let e = store.store(1, item("b.txt", b"too much")).await.unwrap_err();
        assert_eq!(e.reason(), "attachment_quota");
        assert_eq!(store.list(1, EVENT).unwrap()[0].size, 5);
        let (meta, data) = store.get(1, EVENT, "a.txt").unwrap();
        assert_eq!(
            (meta.content_type.as_str(), data.as_slice()),
            ("text/plain", &b"hola!"[..])
        );
        assert!(store.get(1, EVENT, "b.txt").is_err());
        let s = store.clone();
        let freed = tokio::task::spawn_blocking(move || s.delete_event(1, EVENT))
            .await
            .unwrap();
        assert_eq!(freed.unwrap(), 5);
        assert!(store.list(1, EVENT).unwrap().is_empty());
        assert_eq!(store.total(1), 0);
    }

    #[test]
    fn refuses_what_it_cannot_tie_or_name() {
        let header = json!({"type": "attachment", "filename": "x"});
        let e = parse_attachment(header.as_object().unwrap(), b"", None).unwrap_err();
        assert!(e.to_string().contains("event_id"), "{e}");
        let header = json!({"type": "attachment", "filename": "../etc/passwd"});
        let e = parse_attachment(header.as_object().unwrap(), b"", Some(EVENT)).unwrap_err();
        assert!(e.to_string().contains("filename"), "{e}");
    }
}
