//! What the API reports about a rule: health, last error, when it last ran
//! and how long that took.

use std::time::{Duration, SystemTime};

use super::error::EvalError;

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
    /// Notes one evaluation; `error` is why it failed, if it did.
    pub fn record(&mut self, at: SystemTime, took: Duration, error: Option<&EvalError>) {
        self.last_evaluation = Some(at);
        self.evaluation_time = took;
        match error {
            None => {
                self.health = Health::Ok;
                self.last_error = None;
            }
            Some(e) => {
                self.health = Health::Err;
                self.last_error = Some(e.to_string());
            }
        }
    }
}
