//! What `/api/v1/targets` shows about each target: its health after the
//! last scrape, in Prometheus's JSON shape.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::model::PromDuration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
    Unknown,
}

/// The result of the last scrape of one target.
#[derive(Clone, Debug)]
pub struct TargetHealth {
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_scrape_duration: Duration,
}

impl Default for TargetHealth {
    fn default() -> Self {
        TargetHealth {
            health: Health::Unknown,
            last_error: String::new(),
            last_scrape: None,
            last_scrape_duration: Duration::ZERO,
        }
    }
}

/// An active target as `/api/v1/targets` lists it under `activeTargets`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    pub discovered_labels: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub scrape_pool: String,
    pub scrape_url: String,
    pub global_url: String,
    pub last_error: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` before the first scrape, as Prometheus.
    pub last_scrape: String,
    /// Seconds.
    pub last_scrape_duration: f64,
    pub health: Health,
    pub scrape_interval: String,
    pub scrape_timeout: String,
}

/// A target relabeling dropped, listed under `droppedTargets`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    pub discovered_labels: BTreeMap<String, String>,
    pub scrape_pool: String,
}

/// One entry of the targets API; serialises as the inner object.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum TargetStatus {
    Active(ActiveTarget),
    Dropped(DroppedTarget),
}

pub fn prom_duration(d: Duration) -> String {
    PromDuration(d).to_string()
}

/// The scrape URL with a loopback host replaced by this machine's name, so
/// links work from other machines (Prometheus's `globalUrl`).
pub fn global_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !loopback {
        return url.to_string();
    }
    let Some(host) = hostname() else {
        return url.to_string();
    };
    if parsed.set_host(Some(&host)).is_err() {
        return url.to_string();
    }
    parsed.to_string()
}

fn hostname() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    })
    .clone()
}
