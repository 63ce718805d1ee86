//! `errors.scrub`: server-side scrubbing of events, on by default because
//! an SDK's `send_default_pii=False` is only the client's promise. The
//! scrubbers themselves are `logs.privacy`'s (one set of rules, one user
//! token key); errors also scrub IP addresses.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorScrubConfig {
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// More keys whose values are replaced whole (matched as a part of
    /// the lower-cased key, like the built-in `password`, `token`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_keys: Vec<String>,
}

fn enabled() -> bool {
    true
}

impl Default for ErrorScrubConfig {
    fn default() -> Self {
        ErrorScrubConfig {
            enabled: true,
            sensitive_keys: Vec::new(),
        }
    }
}

impl ErrorScrubConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (i, k) in self.sensitive_keys.iter().enumerate() {
            if k.trim().is_empty() {
                return Err(format!("sensitive_keys[{i}] is empty"));
            }
        }
        Ok(())
    }
}
