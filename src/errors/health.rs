//! The envelope items that are not error events: `session` and
//! `sessions` (release health), `transaction` (durations and statuses
//! as TSDB series), `feedback` and `user_report` (attached to an issue),
//! `attachment` (kept with its event). [`ErrorHealth::prepare`] parses one
//! item off the executor; [`ErrorHealth::commit`] stores what the
//! envelope brought after its events. A bad item is refused alone: the
//! caller counts it and keeps the envelope's other items.

use std::sync::Arc;

use crate::config::ErrorLimitsConfig;
use crate::model::now_millis;
use crate::privacy::UserIdHasher;
use crate::selfmetrics::Registry;
use crate::state::{StateStore, StateWriter};
use crate::tsdb::Storage;

use super::ErrorsError;
use super::attachments::{Attachment, AttachmentStore, parse_attachment};
use super::envelope::Item;
use super::feedback::{Feedback, FeedbackStore, parse_feedback};
use super::projects::Project;
use super::release_health::{ReleaseHealth, SESSIONS_SERIES};
use super::scrub::EventScrubber;
use super::session::{SessionItem, parse_aggregates, parse_session};
use super::store::ErrorStore;
use super::transactions::{
    COUNT_SERIES, DURATION_SERIES, TransactionSample, Transactions, parse_transaction,
};
use super::tsdb_counters::TsdbCounters;

/// One parsed item, ready to store.
#[derive(Debug)]
pub enum HealthItem {
    Session(SessionItem),
    Transaction(TransactionSample),
    Feedback(Feedback),
    Attachment(Attachment),
}

/// The item types [`ErrorHealth`] takes.
pub const HEALTH_ITEM_TYPES: &[&str] = &[
    "session",
    "sessions",
    "transaction",
    "feedback",
    "user_report",
    "attachment",
];

pub struct ErrorHealth {
    pub releases: ReleaseHealth,
    pub transactions: Transactions,
    pub feedback: FeedbackStore,
    pub attachments: Arc<AttachmentStore>,
    /// What the flush task appends to the TSDB.
    pub counters: Arc<TsdbCounters>,
    max_attachment_bytes: u64,
}

impl ErrorHealth {
    /// Opens the tables and restores the TSDB counters from `storage`.
    /// Blocking.
    pub fn open(
        state: Arc<StateStore>,
        writer: StateWriter,
        hasher: UserIdHasher,
        storage: &dyn Storage,
        limits: &ErrorLimitsConfig,
        retention_secs: f64,
        registry: &Registry,
    ) -> Result<ErrorHealth, ErrorsError> {
        let counters = Arc::new(TsdbCounters::default());
        let names = format!("{SESSIONS_SERIES}|{COUNT_SERIES}|{DURATION_SERIES}_(bucket|sum|count)");
        let restored = counters.restore(storage, &names, now_millis());
        tracing::debug!(restored, "error counters restored from the metrics store");
        Ok(ErrorHealth {
            releases: ReleaseHealth::open(
                &state,
                writer.clone(),
                hasher,
                counters.clone(),
                retention_secs,
                registry,
            )?,
            transactions: Transactions::new(counters.clone(), limits.max_transaction_names, registry),
            feedback: FeedbackStore::open(state.clone(), writer.clone())?,
            attachments: Arc::new(AttachmentStore::open(
                state.clone(),
                writer,
                limits.max_attachment_bytes_per_project.0,
            )?),
            counters,
            max_attachment_bytes: limits.max_attachment_bytes.0,
        })
    }

    /// Parses (and, for feedback, scrubs) one item. CPU only.
    pub fn prepare(
        &self,
        item: &Item<'_>,
        envelope_event_id: Option<&str>,
        scrubber: &EventScrubber,
        now: f64,
    ) -> Result<HealthItem, ErrorsError> {
        let payload = item.payload;
        Ok(match item.item_type.as_str() {
            "session" => {
                let s = SessionItem::Update(parse_session(payload, now)?);
                ReleaseHealth::check_times(&s, now)?;
                HealthItem::Session(s)
            }
            "sessions" => {
                let s = SessionItem::Aggregates(parse_aggregates(payload)?);
                ReleaseHealth::check_times(&s, now)?;
                HealthItem::Session(s)
            }
            "transaction" => HealthItem::Transaction(parse_transaction(payload)?),
            "feedback" => HealthItem::Feedback(parse_feedback("feedback", payload, scrubber, now)?),
            "user_report" => HealthItem::Feedback(parse_feedback("user_report", payload, scrubber, now)?),
            "attachment" => {
                if payload.len() as u64 > self.max_attachment_bytes {
                    return Err(ErrorsError::TooLarge {
                        what: "an attachment",
                        size: payload.len() as u64,
                        limit: self.max_attachment_bytes,
                        key: "max_attachment_bytes",
                    });
                }
                HealthItem::Attachment(parse_attachment(&item.header, payload, envelope_event_id)?)
            }
            other => {
                return Err(ErrorsError::BadRequest(format!(
                    "item type {other:?} is not one of {HEALTH_ITEM_TYPES:?}"
                )));
            }
        })
    }

    /// Stores an envelope's items (after its events, so feedback finds
    /// an event that came with it). An item refused here (a full
    /// attachment quota) goes to `refused` and the rest go on; a storage
    /// failure is returned.
    pub async fn commit(
        &self,
        project: &Project,
        events: &Arc<ErrorStore>,
        items: Vec<HealthItem>,
        now: f64,
        refused: impl Fn(&ErrorsError),
    ) -> Result<(), ErrorsError> {
        let mut sessions = Vec::new();
        for item in items {
            let result = match item {
                HealthItem::Session(s) => {
                    sessions.push(s);
                    Ok(())
                }
                HealthItem::Transaction(t) => {
                    self.transactions.record(&project.name, &t);
                    Ok(())
                }
                HealthItem::Feedback(f) => {
                    let issue = match &f.event_id {
                        Some(e) => {
                            let (events, project, event_id) = (events.clone(), project.id, e.clone());
                            tokio::task::spawn_blocking(move || events.stored_event_issue(project, &event_id))
                                .await
                                .map_err(|e| {
                                    ErrorsError::BadRequest(format!("event lookup task failed: {e}"))
                                })??
                        }
                        None => None,
                    };
                    self.feedback.record(project.id, f, issue).await
                }
                HealthItem::Attachment(a) => self.attachments.store(project.id, a).await,
            };
            match result {
                Err(ErrorsError::State(e)) => return Err(ErrorsError::State(e)),
                Err(e) => {
                    tracing::warn!(project = project.id, error = %e, "an envelope item is refused");
                    refused(&e);
                }
                Ok(()) => {}
            }
        }
        self.releases
            .record(&project.name, project.id, sessions, now)
            .await
    }

    /// Called for each stored event: feedback that waited for it moves to
    /// its issue.
    pub async fn event_stored(&self, project: u64, event_id: &str, issue: u64) -> Result<(), ErrorsError> {
        self.feedback.attach_pending(project, event_id, issue).await
    }
}
