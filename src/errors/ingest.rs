//! One ingest request from end to end: size and decompression limits, the
//! envelope split (or the `store` endpoint's bare event), who sent it, the
//! project's rate, then per event item: parse, scrub, group — CPU work
//! done by [`ErrorIngest::prepare`], which callers run off the executor —
//! and [`ErrorIngest::commit`], which stores and waits until durable.

use std::sync::Arc;

use bytes::Bytes;

use crate::config::{ErrorLimitsConfig, FingerprintRule};
use crate::model::now_seconds;
use crate::selfmetrics::Registry;

use super::alerts::{ErrorAlerts, EventLabels};
use super::auth::{key_from_auth_header, key_from_query, parse_dsn};
use super::check_in::CheckIn;
use super::decode::decode_body;
use super::envelope;
use super::grouping::group;
use super::health::{ErrorHealth, HEALTH_ITEM_TYPES, HealthItem};
use super::metrics::ErrorMetrics;
use super::monitor_store::MonitorStore;
use super::projects::{Project, Projects};
use super::rate_limit::RateLimiter;
use super::scrub::EventScrubber;
use super::store::ErrorStore;
use super::{ErrorsError, Event, Grouping};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/ID/envelope/`
    Envelope,
    /// `/api/ID/store/`: one event as JSON, the older protocol.
    Store,
}

/// What the HTTP layer hands over, owned so it can move to a blocking task.
#[derive(Debug)]
pub struct IngestRequest {
    pub project: String,
    pub endpoint: Endpoint,
    pub auth_header: Option<String>,
    pub query: Option<String>,
    pub content_encoding: Option<String>,
    pub body: Bytes,
}

/// Events ready to store.
pub struct Prepared {
    project: Project,
    events: Vec<(Event, Grouping)>,
    /// `check_in` items for the project's cron monitors.
    check_ins: Vec<CheckIn>,
    /// What the answer's `id` is: the (first) event's id, else the
    /// envelope header's.
    id: Option<String>,
    /// Sessions, transactions, feedback and attachments.
    health: Vec<HealthItem>,
}

impl Prepared {
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

pub struct ErrorIngest {
    projects: Projects,
    store: Arc<ErrorStore>,
    scrubber: EventScrubber,
    rules: Vec<FingerprintRule>,
    limits: ErrorLimitsConfig,
    metrics: ErrorMetrics,
    rate: RateLimiter,
    health: Option<Arc<ErrorHealth>>,
    monitors: Option<Arc<MonitorStore>>,
    alerts: Option<Arc<ErrorAlerts>>,
}

impl ErrorIngest {
    pub fn new(
        projects: Projects,
        store: Arc<ErrorStore>,
        scrubber: EventScrubber,
        rules: Vec<FingerprintRule>,
        limits: ErrorLimitsConfig,
        registry: &Registry,
    ) -> Self {
        ErrorIngest {
            projects,
            store,
            scrubber,
            rules,
            limits,
            metrics: ErrorMetrics::new(registry),
            rate: RateLimiter::default(),
            health: None,
            monitors: None,
            alerts: None,
        }
    }

    /// Takes sessions, transactions, feedback and attachments too (without
    /// it they are skipped and counted).
    pub fn with_health(mut self, health: Arc<ErrorHealth>) -> Self {
        self.health = Some(health);
        self
    }

    /// The ids of the configured and created projects.
    pub fn project_ids(&self) -> Vec<u64> {
        self.projects.ids()
    }

    pub fn health(&self) -> Option<&Arc<ErrorHealth>> {
        self.health.as_ref()
    }

    /// Takes `check_in` items into these cron monitors (else they are
    /// skipped and counted).
    pub fn with_monitors(mut self, monitors: Arc<MonitorStore>) -> Self {
        self.monitors = Some(monitors);
        self
    }

    /// Raises new, regressed and spiking issues and monitor incidents
    /// through these alerts.
    pub fn with_alerts(mut self, alerts: Arc<ErrorAlerts>) -> Self {
        self.alerts = Some(alerts);
        self
    }

    pub fn monitors(&self) -> Option<&Arc<MonitorStore>> {
        self.monitors.as_ref()
    }

    pub fn alerts(&self) -> Option<&Arc<ErrorAlerts>> {
        self.alerts.as_ref()
    }

    pub fn store(&self) -> &Arc<ErrorStore> {
        &self.store
    }

    pub fn limits(&self) -> &ErrorLimitsConfig {
        &self.limits
    }

    /// Counts a refusal the HTTP layer made itself (a body over the
    /// limit before it was read whole).
    pub fn count_rejected(&self, error: &ErrorsError) {
        self.metrics.rejected.with(&[error.reason()]).inc();
    }

    /// Everything up to storing. CPU-bound: run it off the executor.
    pub fn prepare(&self, request: IngestRequest) -> Result<Prepared, ErrorsError> {
        let mut prepared = self
            .prepare_counted(request)
            .inspect_err(|e| self.count_rejected(e))?;
        self.drop_stored(&mut prepared)
            .inspect_err(|e| self.count_rejected(e))?;
        Ok(prepared)
    }

    /// Leaves out events whose id is stored already: an SDK that lost our
    /// answer sends the same event again, and gets the same answer.
    fn drop_stored(&self, prepared: &mut Prepared) -> Result<(), ErrorsError> {
        let project = prepared.project.id;
        let mut kept = Vec::with_capacity(prepared.events.len());
        for (event, grouping) in prepared.events.drain(..) {
            if self
                .store
                .stored_event_issue(project, event.event_id())?
                .is_some()
            {
                self.metrics.duplicates.inc();
            } else {
                kept.push((event, grouping));
            }
        }
        prepared.events = kept;
        Ok(())
    }

    fn prepare_counted(&self, request: IngestRequest) -> Result<Prepared, ErrorsError> {
        let project_id: u64 = request
            .project
            .parse()
            .map_err(|_| ErrorsError::BadProjectId(request.project.clone()))?;
        let envelope_limit = self.limits.max_envelope_bytes.0;
        if request.body.len() as u64 > envelope_limit {
            return Err(ErrorsError::TooLarge {
                what: "the request body",
                size: request.body.len() as u64,
                limit: envelope_limit,
                key: "max_envelope_bytes",
            });
        }
        let body = decode_body(
            request.content_encoding.as_deref(),
            &request.body,
            self.limits.max_decompressed_bytes.0,
        )?;
        let header_key = request
            .auth_header
            .as_deref()
            .and_then(key_from_auth_header)
            .map(str::to_string)
            .or_else(|| request.query.as_deref().and_then(key_from_query));
        let now = now_seconds();
        match request.endpoint {
            Endpoint::Store => {
                let project = self.admit(project_id, header_key.as_deref(), 1, now)?;
                let event = self.event(&body, None, now)?;
                let id = Some(event.0.event_id().to_string());
                Ok(Prepared {
                    project,
                    events: vec![event],
                    check_ins: Vec::new(),
                    id,
                    health: Vec::new(),
                })
            }
            Endpoint::Envelope => {
                let envelope = envelope::parse(&body)?;
                let key =
                    header_key.or_else(|| envelope.dsn().and_then(parse_dsn).map(|(k, _)| k.to_string()));
                let event_items = envelope.items.iter().filter(|i| i.item_type == "event").count();
                let project = self.admit(project_id, key.as_deref(), event_items as u32, now)?;
                let mut events = Vec::with_capacity(event_items);
                let mut health = Vec::new();
                let mut check_ins = Vec::new();
                for item in &envelope.items {
                    match item.item_type.as_str() {
                        "event" => events.push(self.event(item.payload, envelope.event_id(), now)?),
                        "check_in" if self.monitors.is_some() => match CheckIn::parse(item.payload) {
                            Ok(c) => check_ins.push(c),
                            Err(e) => {
                                tracing::debug!(error = %e, "check-in refused");
                                self.metrics.rejected.with(&[e.reason()]).inc();
                            }
                        },
                        other => match &self.health {
                            Some(h) if HEALTH_ITEM_TYPES.contains(&other) => {
                                match h.prepare(item, envelope.event_id(), &self.scrubber, now) {
                                    Ok(prepared) => health.push(prepared),
                                    Err(e) => {
                                        tracing::warn!(project = project_id, error = %e, "an envelope item is refused");
                                        self.count_rejected(&e);
                                    }
                                }
                            }
                            _ => self.metrics.skip(other),
                        },
                    }
                }
                let id = events
                    .first()
                    .map(|(e, _)| e.event_id().to_string())
                    .or_else(|| envelope.event_id().map(str::to_string));
                Ok(Prepared {
                    project,
                    events,
                    id,
                    health,
                    check_ins,
                })
            }
        }
    }

    /// Authenticates and takes `events` from the project's rate.
    fn admit(
        &self,
        project_id: u64,
        key: Option<&str>,
        events: u32,
        now: f64,
    ) -> Result<Project, ErrorsError> {
        let project = self.projects.authenticate(project_id, key)?;
        let limit = project.max_events_per_second;
        if events > 0 && !self.rate.take(project_id, events, limit, now as u64) {
            return Err(ErrorsError::RateLimited {
                project: project_id,
                limit,
                retry_after_secs: 1,
            });
        }
        Ok(project.clone())
    }

    fn event(
        &self,
        payload: &[u8],
        envelope_id: Option<&str>,
        now: f64,
    ) -> Result<(Event, Grouping), ErrorsError> {
        let limit = self.limits.max_event_bytes.0;
        if payload.len() as u64 > limit {
            return Err(ErrorsError::TooLarge {
                what: "an event",
                size: payload.len() as u64,
                limit,
                key: "max_event_bytes",
            });
        }
        let mut event = Event::parse(payload, envelope_id, now)?;
        self.scrubber.scrub(&mut event);
        let grouping = group(&event, &self.rules);
        Ok((event, grouping))
    }

    /// Stores the prepared events; returns once they are durable.
    pub async fn commit(&self, prepared: Prepared) -> Result<Option<String>, ErrorsError> {
        let Prepared {
            project,
            events,
            id,
            health,
            check_ins,
        } = prepared;
        for (event, grouping) in events {
            let event_id = event.event_id().to_string();
            let labels = [
                project.name.clone(),
                event.level().to_string(),
                event.environment().unwrap_or_default().to_string(),
                event.release().unwrap_or_default().to_string(),
            ];
            let recorded = match self.store.record(project.id, &grouping, event).await {
                Ok(r) => r,
                Err(e) => {
                    self.count_rejected(&e);
                    return Err(e);
                }
            };
            if recorded.duplicate {
                self.metrics.duplicates.inc();
                continue;
            }
            let over = recorded.tag_overflow;
            if over.keys_dropped > 0 {
                self.metrics.tags_over_limit.with(&["key"]).add(over.keys_dropped);
            }
            if over.values_as_other > 0 {
                self.metrics
                    .tags_over_limit
                    .with(&["value"])
                    .add(over.values_as_other);
            }
            if let Some(alerts) = &self.alerts {
                let [project_name, level, environment, release] = labels.clone();
                let event = EventLabels {
                    project: project_name,
                    level,
                    environment,
                    release,
                };
                alerts.issue_event(recorded.issue_id, recorded.effect, &event, now_seconds(), |id| {
                    self.store.issue(id)
                });
            }
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            self.metrics.events.with(&labels).inc();
            if let Some(h) = &self.health {
                h.event_stored(project.id, &event_id, recorded.issue_id).await?;
            }
        }
        if let Some(h) = &self.health
            && !health.is_empty()
        {
            h.commit(&project, &self.store, health, now_seconds(), |e| {
                self.count_rejected(e)
            })
            .await?;
        }
        if let Some(monitors) = self.monitors.as_ref().filter(|_| !check_ins.is_empty()) {
            let (changes, refused) = monitors
                .record(project.id, &project.name, check_ins, now_seconds())
                .await?;
            for e in refused {
                tracing::debug!(error = %e, "check-in refused");
                self.metrics.rejected.with(&[e.reason()]).inc();
            }
            if let Some(alerts) = &self.alerts {
                alerts.monitor_changes(changes, now_seconds());
            }
        }
        Ok(id)
    }
}
