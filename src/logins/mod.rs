//! Unusual login patterns (the LMS guide's §4.2, SEV-2), found in the
//! login events the logs store hands over (`model::LoginEventSink`;
//! what a login event is: `logs::schema::login`): a login from a country
//! new for the user, impossible travel between two logins, and bursts of
//! failed logins per client address and per user, each raised as an
//! alert through the dispatcher (`model::AlertSource::Logins`).

mod alerts;
mod burst;
mod detector;
mod distance;
mod error;
mod geo;
mod history;
mod metrics;
#[cfg(test)]
pub(crate) mod test_mmdb;
#[cfg(test)]
mod tests;

pub use alerts::{ALERT_NAMES, BURST_SOURCE, BURST_USER, IMPOSSIBLE_TRAVEL, UNUSUAL_COUNTRY};
pub use detector::{Clock, LoginDetector, MIN_TRAVEL_KM};
pub use distance::{Point, great_circle_km};
pub use error::LoginsError;
pub use geo::{GeoDb, Location, Place};
