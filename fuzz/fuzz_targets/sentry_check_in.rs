//! Fuzzes a `check_in` item's parsing and its monitor's schedule: it
//! never panics; a parsed check-in has a slug of at most 50 characters
//! and a 32-hex-digit id; any schedule accepted (the input's first line
//! also tried as a crontab text, in a time zone) gives a next time
//! strictly after the run it follows.

#![no_main]

use belfry::errors::{CheckIn, MonitorConfig};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"];

fn check_schedule(config: &MonitorConfig, after: f64) {
    let schedule = config.compile().expect("an accepted config compiles");
    if let Some(next) = schedule.next_after(after, 60.0) {
        assert!(next > after, "{config:?}: {next} is not after {after}");
    }
}

fuzz_target!(|data: &[u8]| {
    let after = 1_700_000_000.0 + f64::from(data.first().copied().unwrap_or(0)) * 86_400.0;
    if let Ok(c) = CheckIn::parse(data) {
        assert!(!c.monitor_slug.is_empty() && c.monitor_slug.chars().count() <= 50);
        assert!(c.check_in_id.len() == 32 && c.check_in_id.bytes().all(|b| b.is_ascii_hexdigit()));
        if let Some(config) = &c.monitor_config {
            check_schedule(config, after);
        }
    }
    let text = String::from_utf8_lossy(data);
    let line = text.lines().next().unwrap_or_default();
    let zone = ZONES[data.len() % ZONES.len()];
    let value = json!({"schedule": {"type": "crontab", "value": line}, "timezone": zone});
    if let Ok(config) = MonitorConfig::from_json(&value) {
        check_schedule(&config, after);
    }
});
