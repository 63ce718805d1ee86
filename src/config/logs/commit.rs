//! `logs.commit`: how often the index commits what the WAL holds. A commit
//! makes records searchable and lets the WAL drop them; fewer, larger
//! commits index faster and make fewer segments.

use serde::Deserialize;

use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommitConfig {
    /// The longest a record waits before it is searchable.
    #[serde(default = "default_interval")]
    pub interval: PromDuration,
    /// A commit starts early once this many records wait.
    #[serde(default = "default_max_records")]
    pub max_records: u64,
}

fn default_interval() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(2))
}

fn default_max_records() -> u64 {
    200_000
}

impl Default for CommitConfig {
    fn default() -> Self {
        CommitConfig {
            interval: default_interval(),
            max_records: default_max_records(),
        }
    }
}

impl CommitConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.is_zero() {
            return Err("interval: must be positive".into());
        }
        if self.max_records == 0 {
            return Err("max_records: must be positive".into());
        }
        Ok(())
    }
}
