//! `errors.projects[]`: a Sentry project, its numeric id (the last path
//! element of a DSN) and the public keys its SDKs may send with.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub id: u64,
    pub name: String,
    /// DSN public keys (Sentry's are 32 hex digits; any letters and digits
    /// are taken).
    pub keys: Vec<String>,
    /// Events a second this project may send before ingest answers 429;
    /// unset takes `errors.limits.max_events_per_second`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events_per_second: Option<u32>,
}

/// A DSN public key: non-empty ASCII letters and digits, so it can sit in
/// a URL's user part and an `X-Sentry-Auth` header unquoted.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl ProjectConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("id must be a positive integer".into());
        }
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if self.keys.is_empty() {
            return Err("keys: at least one DSN public key is needed".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, key) in self.keys.iter().enumerate() {
            if !is_valid_key(key) {
                return Err(format!(
                    "keys[{i}]: {key:?} is not a DSN public key (letters and digits only, e.g. 32 hex digits)"
                ));
            }
            if !seen.insert(key.as_str()) {
                return Err(format!("keys[{i}]: {key:?} is listed twice"));
            }
        }
        if self.max_events_per_second == Some(0) {
            return Err("max_events_per_second must be positive (leave it out for the default)".into());
        }
        Ok(())
    }
}
