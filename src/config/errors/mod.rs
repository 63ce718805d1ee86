//! The `errors:` section: Sentry projects and their DSN keys, the limits
//! that protect memory and disk at ingest, how long events are kept,
//! server-side scrubbing and fingerprint rules. The machinery that applies
//! it is `crate::errors`.

mod alerts;
mod fingerprint_rule;
mod limits;
mod monitors;
mod project;
mod scrub;
mod section;

pub use alerts::{ErrorAlertsConfig, SpikeConfig};
pub use fingerprint_rule::{FingerprintMatcher, FingerprintRule};
pub use limits::ErrorLimitsConfig;
pub use monitors::ErrorMonitorsConfig;
pub use project::{ProjectConfig, is_valid_key};
pub use scrub::ErrorScrubConfig;
pub use section::ErrorsConfig;
