//! What the HTTP layer holds: handles to the subsystems, nothing more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

use crate::ingest::{IngestLimits, IngestMetrics};
use crate::model::Labels;
use crate::rules::RuleManager;
use crate::scrape::ScrapeManager;
use crate::selfmetrics::{Counter, CounterVec, Registry};
use crate::tsdb::{ExemplarStore, Storage};

use super::guard::Guard;
use super::reload::ReloadHandle;
use super::status_info::StatusInfo;

/// Start-up state: `/-/ready` answers 503 until the store has replayed its WAL.
#[derive(Default)]
pub struct Lifecycle {
    ready: AtomicBool,
}

impl Lifecycle {
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// Counters the HTTP layer itself keeps.
pub struct WebMetrics {
    pub requests: Arc<CounterVec>,
    pub body_limit_exceeded: Arc<Counter>,
}

impl WebMetrics {
    pub fn new(registry: &Registry) -> Self {
        WebMetrics {
            requests: registry.counter_vec(
                "belfry_http_requests_total",
                "HTTP requests served, by route and status code.",
                &["handler", "code"],
            ),
            body_limit_exceeded: registry.counter(
                "belfry_http_request_body_limit_exceeded_total",
                "Requests refused because their body exceeded server.request_body_limit.",
            ),
        }
    }
}

pub struct AppState {
    pub storage: Arc<dyn Storage>,
    /// Exemplars kept by scraping and remote write.
    pub exemplars: Arc<ExemplarStore>,
    pub scrape: Arc<ScrapeManager>,
    pub rules: Arc<RuleManager>,
    pub registry: Arc<Registry>,
    pub lifecycle: Arc<Lifecycle>,
    pub reload: ReloadHandle,
    /// `global.external_labels`, added to federated series.
    pub external_labels: RwLock<Labels>,
    pub max_request_body_bytes: usize,
    pub ingest_limits: IngestLimits,
    pub ingest_metrics: IngestMetrics,
    pub metrics: WebMetrics,
    /// Alert routing and the Alertmanager API.
    pub alerting: Arc<crate::alerting::Dispatcher>,
    /// Alert flood mode; `None` where a server runs without it (tests of
    /// other APIs), and its routes answer 404.
    pub flood: Option<Arc<crate::alerting::FloodMode>>,
    /// PromQL limits (timeout, max samples, max points per series).
    pub query_options: crate::promql::EngineOptions,
    /// The names requests may be addressed to and the refusal counters.
    pub guard: Guard,
    /// Who may do what: accounts, sessions, tokens.
    pub access: super::access::AccessControl,
    /// Whether the listener serves HTTPS (`transport.is_tls()`, which the
    /// session cookie's `Secure` follows) and the HSTS header then sent.
    pub transport: super::transport::Transport,
    /// What the status endpoints report.
    pub status: StatusInfo,
    /// The logs store; `None` where a server runs without one (tests of
    /// other APIs), and the logs routes answer 503.
    pub logs: Option<Arc<crate::logs::LogStore>>,
    /// LogQL over the logs store (the Loki API); `None` without a store.
    pub logql: Option<Arc<crate::logql::LogqlEngine>>,
    /// Sentry-compatible error ingest and its issues; `None` where a
    /// server runs without it, and its routes answer 503.
    pub errors: Option<Arc<crate::errors::ErrorIngest>>,
    /// Built-in and imported dashboards.
    pub dashboards: Arc<crate::dashboards::Dashboards>,
    /// The alerts' runbooks: built in, and admins' edits.
    pub runbooks: Arc<crate::runbooks::Runbooks>,
    /// Online backups of the data directory; `None` where a server runs
    /// without its stores on disk (tests of other APIs), and the route
    /// answers 404.
    pub backup: Option<Arc<crate::backup::Backups>>,
    /// The SEV-3 reports; `None` where a server runs without them (tests
    /// of other APIs), and their routes answer 404.
    pub reports: Option<Arc<crate::reports::Reports>>,
}
