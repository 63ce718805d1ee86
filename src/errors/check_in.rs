//! A `check_in` envelope item: one run of a cron job reporting in
//! (`in_progress` when it starts, `ok` or `error` when it ends, both under
//! one `check_in_id`), optionally upserting its monitor's configuration.
//! A refused item is counted by reason and leaves the envelope's other
//! items alone.

use serde_json::Value;

use super::monitor_config::{MonitorConfig, MonitorConfigError};

/// Relay's bound on a monitor slug.
const MAX_SLUG_CHARS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckInStatus {
    InProgress,
    Ok,
    Error,
    /// Made by the monitor when no check-in came in time.
    Missed,
    /// Made by the monitor when an `in_progress` run outlived `max_runtime`.
    Timeout,
}

impl CheckInStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckInStatus::InProgress => "in_progress",
            CheckInStatus::Ok => "ok",
            CheckInStatus::Error => "error",
            CheckInStatus::Missed => "missed",
            CheckInStatus::Timeout => "timeout",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CheckInStatus::Error | CheckInStatus::Missed | CheckInStatus::Timeout
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckIn {
    pub check_in_id: String,
    pub monitor_slug: String,
    pub status: CheckInStatus,
    /// Seconds, as the SDK measured the run.
    pub duration: Option<f64>,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub monitor_config: Option<MonitorConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckInError {
    #[error("malformed check-in: {0}")]
    Malformed(String),
    #[error("check-in for {slug:?}: {source}")]
    BadMonitorConfig {
        slug: String,
        source: MonitorConfigError,
    },
    #[error(
        "project {project} has errors.monitors.max_monitors_per_project ({limit}) monitors; {slug:?} is not created"
    )]
    TooManyMonitors {
        project: u64,
        limit: usize,
        slug: String,
    },
}

impl CheckInError {
    /// The `reason` label of `belfry_error_events_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            CheckInError::Malformed(_) => "malformed_check_in",
            CheckInError::BadMonitorConfig { .. } => "invalid_monitor_config",
            CheckInError::TooManyMonitors { .. } => "too_many_monitors",
        }
    }
}

fn text(v: &Value, key: &str) -> Result<Option<String>, CheckInError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(CheckInError::Malformed(format!(
            "{key} must be a string, got {other}"
        ))),
    }
}

/// Relay's slug: lower case, runs of other characters as one `-`.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(MAX_SLUG_CHARS).collect()
}

/// A check-in id as a 32-digit lower-case hex string (dashes removed).
fn uuid(s: &str) -> Option<String> {
    let hex: String = s
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

impl CheckIn {
    pub fn parse(payload: &[u8]) -> Result<CheckIn, CheckInError> {
        let v: Value =
            serde_json::from_slice(payload).map_err(|e| CheckInError::Malformed(format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(CheckInError::Malformed("a check-in is a JSON object".into()));
        }
        let raw_slug = text(&v, "monitor_slug")?
            .ok_or_else(|| CheckInError::Malformed("monitor_slug is missing".into()))?;
        let monitor_slug = slugify(&raw_slug);
        if monitor_slug.is_empty() {
            return Err(CheckInError::Malformed(format!(
                "monitor_slug {raw_slug:?} has no letters or digits"
            )));
        }
        let raw_id = text(&v, "check_in_id")?
            .ok_or_else(|| CheckInError::Malformed("check_in_id is missing".into()))?;
        let check_in_id = uuid(&raw_id)
            .ok_or_else(|| CheckInError::Malformed(format!("check_in_id {raw_id:?} is not a UUID")))?;
        let status = match text(&v, "status")?.as_deref() {
            Some("in_progress") => CheckInStatus::InProgress,
            Some("ok") => CheckInStatus::Ok,
            Some("error") => CheckInStatus::Error,
            other => {
                return Err(CheckInError::Malformed(format!(
                    "status {other:?} is not a check-in status (in_progress, ok, error)"
                )));
            }
        };
        let duration = match v.get("duration") {
            None | Some(Value::Null) => None,
            Some(d) => match d.as_f64() {
                Some(d) if d.is_finite() && d >= 0.0 => Some(d),
                _ => {
                    return Err(CheckInError::Malformed(format!(
                        "duration {d} is not a number of seconds"
                    )));
                }
            },
        };
        let monitor_config = match v.get("monitor_config") {
            None | Some(Value::Null) => None,
            Some(c) => {
                Some(
                    MonitorConfig::from_json(c).map_err(|source| CheckInError::BadMonitorConfig {
                        slug: monitor_slug.clone(),
                        source,
                    })?,
                )
            }
        };
        Ok(CheckIn {
            check_in_id,
            monitor_slug,
            status,
            duration,
            environment: text(&v, "environment")?.filter(|s| !s.is_empty()),
            release: text(&v, "release")?.filter(|s| !s.is_empty()),
            monitor_config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_sentry_sdk_sends() {
        let c = CheckIn::parse(
            br#"{"type":"check_in","monitor_slug":"Nightly Grades","check_in_id":"0F6B5D5A-8C2E-4E4B-9C0D-1A2B3C4D5E6F",
                "status":"ok","duration":1.5,"environment":"production","release":null,
                "monitor_config":{"schedule":{"type":"crontab","value":"0 2 * * *"},"timezone":"Europe/Berlin"}}"#,
        )
        .unwrap();
        assert_eq!(c.monitor_slug, "nightly-grades");
        assert_eq!(c.check_in_id, "0f6b5d5a8c2e4e4b9c0d1a2b3c4d5e6f");
        assert_eq!(c.status, CheckInStatus::Ok);
        assert_eq!(c.duration, Some(1.5));
        assert_eq!(c.environment.as_deref(), Some("production"));
        assert!(c.release.is_none());
        assert_eq!(c.monitor_config.unwrap().timezone, "Europe/Berlin");
    }

    #[test]
    fn refusals_say_why() {
        let id = "0f6b5d5a8c2e4e4b9c0d1a2b3c4d5e6f";
        for (body, reason, needle) in [
            ("[]".to_string(), "malformed_check_in", "JSON object"),
            (
                format!(r#"{{"check_in_id":"{id}","status":"ok"}}"#),
                "malformed_check_in",
                "monitor_slug",
            ),
            (
                r#"{"monitor_slug":"a","check_in_id":"x","status":"ok"}"#.to_string(),
                "malformed_check_in",
                "UUID",
            ),
            (
                format!(r#"{{"monitor_slug":"a","check_in_id":"{id}","status":"done"}}"#),
                "malformed_check_in",
                "status",
            ),
            (
                format!(
                    r#"{{"monitor_slug":"a","check_in_id":"{id}","status":"ok","monitor_config":{{"schedule":{{"type":"interval","value":1,"unit":"fortnight"}}}}}}"#
                ),
                "invalid_monitor_config",
                "monitor_config.schedule.unit",
            ),
        ] {
            let e = CheckIn::parse(body.as_bytes()).unwrap_err();
            assert_eq!(e.reason(), reason, "{body}: {e}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
    }
}
