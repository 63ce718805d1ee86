//! What the API reports about a rule: health, last error, when it last ran
//! and how long that took.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RuleHealth {
    pub health: Health,
    pub last_error: Option<String>,
    pub last_evaluation: Option<SystemTime>,
    pub evaluation_time: Duration,
}

impl Default for RuleHealth {
    fn default() -> Self {
        RuleHealth {
            health: Health::Unknown,
            last_error: None,
            last_evaluation: None,
            evaluation_time: Duration::ZERO,
        }
    }
}

impl RuleHealth {
    pub fn record(&mut self, at: SystemTime, took: Duration, result: Result<(), String>) {
        self.last_evaluation = Some(at);
        self.evaluation_time = took;
        match result {
            Ok(()) => {
                self.health = Health::Ok;
                self.last_error = None;
            }
            Err(e) => {
                self.health = Health::Err;
                self.last_error = Some(e);
            }
        }
    }
}
