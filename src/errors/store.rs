//! Events and issues in `state.redb`. Issues are held in memory for
//! listing and grouping and written through; which users an issue has
//! affected is only on disk (the issue keeps their count), looked up when
//! an event names a user; events are only on disk, one key range per
//! issue (`ISSUE/TIMESTAMP_MS/EVENT_ID`). An event, its issue's new state
//! and its user are one group-committed transaction, durable before the
//! ingest answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use crate::state::{StateStore, StateWriter, WriteOp, tables};

use super::event_index;
use super::issue_query::IssueQuery;
use super::recent_ids::RecentIds;
use super::tags::TagOverflow;
use super::{ErrorsError, Event, EventEffect, Grouping, Issue, StatusChange};

/// What recording an event did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recorded {
    pub issue_id: u64,
    pub effect: EventEffect,
    /// The event was stored before (an SDK's retry): nothing changed.
    pub duplicate: bool,
    /// What the issue's tag summary could not keep.
    pub tag_overflow: TagOverflow,
}

impl Recorded {
    fn duplicate(issue_id: u64) -> Recorded {
        Recorded {
            issue_id,
            effect: EventEffect {
                new_issue: false,
                regression: false,
                new_user: false,
            },
            duplicate: true,
            tag_overflow: TagOverflow::default(),
        }
    }
}

#[derive(Default)]
struct Index {
    /// By id: ids are handed out in increasing order, so pushing keeps
    /// the order, and a vector costs no more than its issues.
    issues: Vec<Issue>,
    /// Issues by project and grouping hash (see [`group_key`]).
    by_group: HashMap<(u64, u128), u64>,
    /// Users of an issue (`ISSUE/TOKEN` keys of `error_issue_users`)
    /// whose write is queued but not yet durable, so a second event of
    /// theirs in the meantime is not counted as a new user.
    pending_users: HashSet<String>,
    next_id: u64,
    recent: RecentIds,
}

impl Index {
    fn at(&self, id: u64) -> Option<usize> {
        self.issues.binary_search_by_key(&id, |i| i.id).ok()
    }

    fn get(&self, id: u64) -> Option<&Issue> {
        self.at(id).map(|at| &self.issues[at])
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Issue> {
        self.at(id).map(|at| &mut self.issues[at])
    }
}

/// The grouping hash as a map key: its 32 hex digits as a number (16
/// bytes, no allocation), or for any other spelling a 128-bit xxh3 of it.
fn group_key(hash: &str) -> u128 {
    match u128::from_str_radix(hash, 16) {
        Ok(n) if hash.len() == 32 => n,
        _ => xxhash_rust::xxh3::xxh3_128(hash.as_bytes()),
    }
}

fn user_key(issue: u64, token: &str) -> String {
    format!("{issue:020}/{token}")
}

pub struct ErrorStore {
    pub(super) state: Arc<StateStore>,
    pub(super) writer: StateWriter,
    index: Mutex<Index>,
}

/// A page of an issue's events, newest first.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<Value>,
    /// Pass back as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

fn issue_key(id: u64) -> String {
    format!("{id:020}")
}

pub(super) fn events_prefix(issue: u64) -> String {
    format!("{issue:020}/")
}

impl ErrorStore {
    /// Loads the issues. Blocking.
    pub fn open(state: Arc<StateStore>, writer: StateWriter) -> Result<ErrorStore, ErrorsError> {
        let mut index = Index {
            next_id: 1,
            ..Index::default()
        };
        state.scan_each(tables::ERROR_ISSUES, |key, value| {
            match serde_json::from_slice::<Issue>(value) {
                Ok(issue) => {
                    index.next_id = index.next_id.max(issue.id + 1);
                    index
                        .by_group
                        .insert((issue.project, group_key(&issue.group)), issue.id);
                    index.issues.push(issue);
                }
                Err(e) => tracing::warn!(key, error = %e, "cannot read a stored error issue; it is skipped"),
            }
        })?;
        // Keys are zero-padded ids, so this is their order already.
        index.issues.sort_unstable_by_key(|i| i.id);
        index.issues.shrink_to_fit();
        index.by_group.shrink_to_fit();
        Ok(ErrorStore {
            state,
            writer,
            index: Mutex::new(index),
        })
    }

    /// Counts `event` into its issue (made if new) and stores both;
    /// returns once they are durable. An event whose id was stored
    /// moments ago is not stored again (`duplicate`).
    pub async fn record(
        &self,
        project: u64,
        grouping: &Grouping,
        event: Event,
    ) -> Result<Recorded, ErrorsError> {
        let (pending, recorded, new_user_key) = {
            let mut index = self.index.lock();
            let index = &mut *index;
            if let Some(issue_id) = index.recent.issue_of(project, event.event_id()) {
                return Ok(Recorded::duplicate(issue_id));
            }
            let group = (project, group_key(&grouping.hash));
            let known = index.by_group.get(&group).copied();
            let issue_id = known.unwrap_or(index.next_id);
            let mut ops = Vec::with_capacity(6);
            // A user is new to a new issue; to a known one unless stored
            // or on its way to be.
            let new_user_key = match event.user_id() {
                Some(token) => {
                    let key = user_key(issue_id, token);
                    let seen = index.pending_users.contains(&key)
                        || (known.is_some() && self.state.get(tables::ERROR_ISSUE_USERS, &key)?.is_some());
                    (!seen).then_some(key)
                }
                None => None,
            };
            let new_issue = known.is_none();
            if new_issue {
                index.next_id += 1;
                index.by_group.insert(group, issue_id);
                index.issues.push(Issue::new(issue_id, project, grouping, &event));
            }
            let new_user = new_user_key.is_some();
            if let Some(key) = &new_user_key {
                index.pending_users.insert(key.clone());
                ops.push(WriteOp::put(tables::ERROR_ISSUE_USERS, key.clone(), Vec::new()));
            }
            let issue = index.get_mut(issue_id).expect("indexed above");
            let regression = issue.record(grouping, &event, new_user);
            let tag_overflow = issue.tags.add(&event);
            ops.push(WriteOp::put(
                tables::ERROR_ISSUES,
                issue_key(issue_id),
                to_json(issue),
            ));
            let ts_ms = (event.timestamp() * 1000.0).max(0.0) as u64;
            let event_id = event.event_id().to_string();
            let event_key = event_index::event_key(issue_id, ts_ms, &event_id);
            let request_id = event_index::request_id(&event);
            let mut event = event;
            event.body.insert("issue_id".into(), Value::from(issue_id));
            event.body.insert("project".into(), Value::from(project));
            if let Some(r) = &request_id {
                event.body.insert("request_id".into(), Value::from(r.as_str()));
                ops.push(WriteOp::put(
                    tables::ERROR_REQUEST_EVENTS,
                    event_index::request_key(r, &event_key),
                    Vec::new(),
                ));
            }
            ops.push(WriteOp::put(
                tables::ERROR_EVENT_IDS,
                event_index::event_id_key(project, &event_id),
                event_key.clone().into_bytes(),
            ));
            ops.push(WriteOp::put(
                tables::ERROR_EVENT_TIMES,
                event_index::event_time_key(issue_id, ts_ms, &event_id),
                request_id.unwrap_or_default().into_bytes(),
            ));
            ops.push(WriteOp::put(tables::ERROR_EVENTS, event_key, event.to_json()));
            index.recent.insert(project, &event_id, issue_id);
            let recorded = Recorded {
                issue_id,
                effect: EventEffect {
                    new_issue,
                    regression,
                    new_user,
                },
                duplicate: false,
                tag_overflow,
            };
            // Queued under the lock, so an issue's states commit in order.
            (self.writer.enqueue(ops), recorded, new_user_key)
        };
        let durable = pending.durable().await;
        if let Some(key) = new_user_key {
            // Stored now (or failed, and the next event may count it).
            self.index.lock().pending_users.remove(&key);
        }
        durable?;
        Ok(recorded)
    }

    /// The issue of the stored event of `project` with this id, if one
    /// is stored. Blocking.
    pub fn stored_event_issue(&self, project: u64, event_id: &str) -> Result<Option<u64>, ErrorsError> {
        if let Some(issue) = self.index.lock().recent.issue_of(project, event_id) {
            return Ok(Some(issue));
        }
        let key = event_index::event_id_key(project, event_id);
        Ok(self
            .state
            .get(tables::ERROR_EVENT_IDS, &key)?
            .and_then(|v| event_index::issue_of_event_key(&String::from_utf8_lossy(&v))))
    }

    /// Forgets deleted events' ids, so they are no longer taken for
    /// retries.
    pub(super) fn forget_recent(&self, events: &[(u64, &str)]) {
        let mut index = self.index.lock();
        for (project, event_id) in events {
            index.recent.remove(*project, event_id);
        }
    }

    /// The project of an issue.
    pub fn issue_project(&self, id: u64) -> Option<u64> {
        self.index.lock().get(id).map(|i| i.project)
    }

    pub fn issue(&self, id: u64) -> Option<Issue> {
        self.index.lock().get(id).cloned()
    }

    pub fn issues(&self, query: &IssueQuery) -> Vec<Issue> {
        let index = self.index.lock();
        let mut found: Vec<Issue> = index
            .issues
            .iter()
            .filter(|i| query.matches(i))
            .cloned()
            .collect();
        drop(index);
        query.sort(&mut found);
        found
    }

    pub async fn set_status(&self, id: u64, change: &StatusChange) -> Result<Issue, ErrorsError> {
        let (pending, issue) = {
            let mut index = self.index.lock();
            let issue = index.get_mut(id).ok_or(ErrorsError::IssueNotFound(id))?;
            issue.set_status(change);
            let op = WriteOp::put(tables::ERROR_ISSUES, issue_key(id), to_json(issue));
            (self.writer.enqueue(vec![op]), issue.clone())
        };
        pending.durable().await?;
        Ok(issue)
    }

    /// A page of an issue's events, newest first. Blocking.
    pub fn events(&self, issue: u64, cursor: Option<&str>, limit: usize) -> Result<EventPage, ErrorsError> {
        if self.index.lock().get(issue).is_none() {
            return Err(ErrorsError::IssueNotFound(issue));
        }
        let prefix = events_prefix(issue);
        if let Some(c) = cursor
            && !c.starts_with(&prefix)
        {
            return Err(ErrorsError::BadRequest(format!(
                "cursor {c:?} is not a cursor of issue {issue}"
            )));
        }
        let rows = self
            .state
            .scan_prefix_rev(tables::ERROR_EVENTS, &prefix, cursor, limit + 1)?;
        let more = rows.len() > limit;
        let mut events = Vec::with_capacity(rows.len().min(limit));
        let mut last_key = None;
        for (key, value) in rows.into_iter().take(limit) {
            match serde_json::from_slice::<Value>(&value) {
                Ok(v) => events.push(v),
                Err(e) => tracing::warn!(key, error = %e, "cannot read a stored error event; it is skipped"),
            }
            last_key = Some(key);
        }
        Ok(EventPage {
            events,
            next_cursor: if more { last_key } else { None },
        })
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("issues and events serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{IssueStatus, grouping::group};

    fn open(dir: &std::path::Path) -> ErrorStore {
        // The writer thread of a dropped store lets the file go a moment later.
        let mut tries = 0;
        let state = loop {
            match StateStore::open(dir) {
                Ok(s) => break s,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        ErrorStore::open(state.clone(), StateWriter::start(state)).unwrap()
    }

    fn event(json: &str) -> Event {
        Event::parse(json.as_bytes(), None, 0.0).unwrap()
    }

    #[tokio::test]
    async fn events_group_persist_and_page() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        for i in 0..5 {
            let e = event(&format!(
                r#"{{"message":"timeout after {i} s","timestamp":{},"user":{{"id":"u_{}"}}}}"#,
                100 + i,
                i % 2
            ));
            let g = group(&e, &[]);
            let r = store.record(1, &g, e).await.unwrap();
            assert_eq!(r.issue_id, 1);
            assert_eq!(r.effect.new_issue, i == 0);
        }
        let other = event(r#"{"message":"disk full"}"#);
        let g = group(&other, &[]);
        assert_eq!(store.record(1, &g, other).await.unwrap().issue_id, 2);
        drop(store);

        let store = open(dir.path());
        let issue = store.issue(1).unwrap();
        assert_eq!((issue.count, issue.user_count), (5, 2));
        let page = store.events(1, None, 3).unwrap();
        let stamps: Vec<f64> = page
            .events
            .iter()
            .map(|e| e["timestamp"].as_f64().unwrap())
            .collect();
        assert_eq!(stamps, [104.0, 103.0, 102.0]);
        let next = store.events(1, page.next_cursor.as_deref(), 3).unwrap();
        assert_eq!(next.events.len(), 2);
        assert!(next.next_cursor.is_none());
        assert!(store.events(9, None, 3).is_err());
        // Users are looked up in the store: a known one is not counted
        // again after the restart, a new one is, once.
        for (user, new_user) in [("u_0", false), ("u_9", true), ("u_9", false)] {
            let e = event(&format!(
                r#"{{"message":"timeout after 1 s","timestamp":50,"user":{{"id":"{user}"}}}}"#
            ));
            let g = group(&e, &[]);
            assert_eq!(
                store.record(1, &g, e).await.unwrap().effect.new_user,
                new_user,
                "{user}"
            );
        }
        let issue = store.issue(1).unwrap();
        assert_eq!((issue.count, issue.user_count), (8, 3));

        let change = StatusChange {
            status: IssueStatus::Resolved,
            ignore_count: None,
        };
        store.set_status(1, &change).await.unwrap();
        let e = event(r#"{"message":"timeout after 9 s","timestamp":200}"#);
        let g = group(&e, &[]);
        assert!(store.record(1, &g, e).await.unwrap().effect.regression);
        assert!(store.issue(1).unwrap().regressed);
        // The next issue id follows the stored ones after a restart.
        let e = event(r#"{"message":"new thing"}"#);
        let g = group(&e, &[]);
        assert_eq!(store.record(1, &g, e).await.unwrap().issue_id, 3);
    }
}
