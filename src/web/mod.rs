//! HTTP: one port serving the Prometheus-compatible API, ingest endpoints and
//! Belfry's own pages. Handlers only translate between HTTP and the
//! subsystems; errors become HTTP responses in one place (`error.rs`).

pub mod api;
mod error;
mod params;
mod reload;
mod router;
mod state;

pub use error::ApiError;
#[doc(hidden)]
pub use params::{parse_selector, parse_time};
pub use reload::{ReloadError, ReloadHandle, ReloadRequest};
pub use router::router;
pub use state::{AppState, Lifecycle, WebMetrics};
