//! `logins:` unusual login patterns (the LMS guide's §4.2, SEV-2) found in
//! the login events of the logs: a login from a country the user has not
//! logged in from within `country_history`, travel between two logins
//! faster than `max_speed_kmh`, and bursts of failed logins per client
//! address and per user. The machinery is `crate::logins`.

use serde::{Deserialize, Serialize};

use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoginsConfig {
    /// Off: login events are not looked at.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A MaxMind DB file (GeoLite2-City or GeoIP2-City; a Country one
    /// serves the country check only). Without it, or while it cannot be
    /// read, the country and travel checks are off; bursts still work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geoip_database: Option<String>,
    /// `LMSUnusualLoginCountry` for a successful login from a country not
    /// seen for that user within `country_history`.
    #[serde(default = "yes")]
    pub new_country: bool,
    #[serde(default = "thirty_days")]
    pub country_history: PromDuration,
    /// `LMSImpossibleTravel` for two logins of a user further apart than
    /// `max_speed_kmh` allows.
    #[serde(default = "yes")]
    pub impossible_travel: bool,
    #[serde(default = "thousand")]
    pub max_speed_kmh: f64,
    /// A location less precise than this (the database's accuracy radius)
    /// is not used for travel.
    #[serde(default = "five_hundred")]
    pub max_accuracy_radius_km: f64,
    #[serde(default, deserialize_with = "crate::config::null_as_default")]
    pub failed_bursts: FailedBurstsConfig,
    /// An alert resolves this long after its last detection.
    #[serde(default = "one_hour")]
    pub resolve_after: PromDuration,
    /// Users whose login history is kept (and, separately, users whose
    /// failures are counted); past it the longest-unseen are forgotten.
    #[serde(default = "hundred_thousand")]
    pub max_users: u64,
    /// Client addresses whose failures are counted; past it a new one is
    /// not counted until old ones expire.
    #[serde(default = "hundred_thousand")]
    pub max_sources: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FailedBurstsConfig {
    /// `LMSFailedLoginBurstSource`: failures from one client address.
    #[serde(default = "per_source")]
    pub per_source: BurstConfig,
    /// `LMSFailedLoginBurstUser`: failures for one user.
    #[serde(default = "per_user")]
    pub per_user: BurstConfig,
}

/// `threshold` failures within `window` fire; a threshold of 0 turns the
/// check off.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BurstConfig {
    pub threshold: u32,
    #[serde(default = "five_minutes")]
    pub window: PromDuration,
}

/// Each tracked key keeps up to `threshold` times: the limit bounds it.
pub const MAX_BURST_THRESHOLD: u32 = 10_000;

fn yes() -> bool {
    true
}
fn thirty_days() -> PromDuration {
    PromDuration::from_secs(30 * 86_400)
}
fn thousand() -> f64 {
    1000.0
}
fn five_hundred() -> f64 {
    500.0
}
fn one_hour() -> PromDuration {
    PromDuration::from_secs(3600)
}
fn five_minutes() -> PromDuration {
    PromDuration::from_secs(300)
}
fn hundred_thousand() -> u64 {
    100_000
}
fn per_source() -> BurstConfig {
    BurstConfig {
        threshold: 20,
        window: five_minutes(),
    }
}
fn per_user() -> BurstConfig {
    BurstConfig {
        threshold: 10,
        window: five_minutes(),
    }
}

impl Default for FailedBurstsConfig {
    fn default() -> Self {
        FailedBurstsConfig {
            per_source: per_source(),
            per_user: per_user(),
        }
    }
}

impl Default for LoginsConfig {
    fn default() -> Self {
        LoginsConfig {
            enabled: true,
            geoip_database: None,
            new_country: true,
            country_history: thirty_days(),
            impossible_travel: true,
            max_speed_kmh: thousand(),
            max_accuracy_radius_km: five_hundred(),
            failed_bursts: FailedBurstsConfig::default(),
            resolve_after: one_hour(),
            max_users: hundred_thousand(),
            max_sources: hundred_thousand(),
        }
    }
}

impl LoginsConfig {
    /// Each refusal names its key under `logins`.
    pub fn validate(&self) -> Result<(), String> {
        if self
            .geoip_database
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err("geoip_database is empty (leave it out to run without a geo database)".into());
        }
        if self.country_history.0.as_secs() < 60 {
            return Err("country_history must be at least 1m".into());
        }
        if !(self.max_speed_kmh.is_finite() && self.max_speed_kmh > 0.0) {
            return Err(format!(
                "max_speed_kmh must be a positive number, got {}",
                self.max_speed_kmh
            ));
        }
        if !(self.max_accuracy_radius_km.is_finite() && self.max_accuracy_radius_km >= 0.0) {
            return Err(format!(
                "max_accuracy_radius_km must be a number of at least 0, got {}",
                self.max_accuracy_radius_km
            ));
        }
        self.failed_bursts
            .per_source
            .validate()
            .map_err(|m| format!("failed_bursts.per_source.{m}"))?;
        self.failed_bursts
            .per_user
            .validate()
            .map_err(|m| format!("failed_bursts.per_user.{m}"))?;
        if self.resolve_after.0.as_secs() < 1 {
            return Err("resolve_after must be at least 1s".into());
        }
        if self.max_users == 0 {
            return Err("max_users must be positive".into());
        }
        if self.max_sources == 0 {
            return Err("max_sources must be positive".into());
        }
        Ok(())
    }

    /// Relative to the configuration file's directory.
    pub(crate) fn resolve_paths(&mut self, dir: &std::path::Path) {
        if let Some(p) = &mut self.geoip_database {
            *p = super::file::join_relative(dir, p);
        }
    }
}

impl BurstConfig {
    fn validate(&self) -> Result<(), String> {
        if self.threshold > MAX_BURST_THRESHOLD {
            return Err(format!(
                "threshold must be at most {MAX_BURST_THRESHOLD}, got {}",
                self.threshold
            ));
        }
        if self.threshold > 0 && self.window.0.as_secs() < 1 {
            return Err("window must be at least 1s".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(text: &str) -> Result<LoginsConfig, String> {
        Config::from_yaml(text, "test.yml")
            .map(|c| c.logins)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = load("logins: {}").unwrap();
        assert_eq!(c, LoginsConfig::default());
        assert_eq!(load("").unwrap(), LoginsConfig::default());
        assert_eq!(c.country_history.0.as_secs(), 30 * 86_400);
        assert_eq!(c.failed_bursts.per_source.threshold, 20);
        assert_eq!(c.failed_bursts.per_user.threshold, 10);
        assert!(c.geoip_database.is_none());
    }

    #[test]
    fn refusals_name_the_key() {
        for (text, key) in [
            ("logins: {max_speed_kmh: 0}", "logins: max_speed_kmh"),
            (
                "logins: {max_accuracy_radius_km: -1}",
                "logins: max_accuracy_radius_km",
            ),
            (
                "logins: {failed_bursts: {per_user: {threshold: 5, window: 0s}}}",
                "logins: failed_bursts.per_user.window",
            ),
            (
                "logins: {failed_bursts: {per_source: {threshold: 20000}}}",
                "logins: failed_bursts.per_source.threshold",
            ),
            ("logins: {max_users: 0}", "logins: max_users"),
            ("logins: {geoip_database: ''}", "logins: geoip_database"),
            ("logins: {resolve_after: 0s}", "logins: resolve_after"),
        ] {
            let e = load(text).unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
        }
        let e = load("logins: {geo_database: x.mmdb}").unwrap_err();
        assert!(e.contains("geo_database"), "{e}");
    }

    #[test]
    fn a_threshold_of_zero_turns_a_burst_check_off_and_paths_are_relative_to_the_file() {
        let c = load("logins: {failed_bursts: {per_source: {threshold: 0, window: 0s}}}").unwrap();
        assert_eq!(c.failed_bursts.per_source.threshold, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("belfry.yml");
        std::fs::write(&path, "logins: {geoip_database: geo/City.mmdb}").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.logins.geoip_database.as_deref(),
            Some(dir.path().join("geo/City.mmdb").to_str().unwrap())
        );
    }
}
