//! HTTP: one port serving the Prometheus-compatible API, ingest endpoints and
//! Belfry's own pages. Handlers only translate between HTTP and the
//! subsystems; errors become HTTP responses in one place (`error.rs`).

pub mod access;
pub mod api;
mod error;
mod guard;
mod loki_params;
mod params;
mod reload;
mod router;
mod serve;
mod state;
mod status_info;
pub mod tls;
mod transport;
mod ui;

pub use access::AccessControl;
pub use error::ApiError;
pub use guard::{Guard, HostPolicy};
#[doc(hidden)]
pub use params::{parse_selector, parse_time};
pub use reload::{ReloadError, ReloadHandle, ReloadRequest};
pub use router::router;
pub use serve::serve;
pub use state::{AppState, Lifecycle, WebMetrics};
pub use status_info::{ReloadOutcome, StatusInfo};
pub use transport::Transport;
