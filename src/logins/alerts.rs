//! The alerts of the login checks, as the dispatcher receives them. Each
//! is sent when detected with an `endsAt` of `logins.resolve_after` ahead,
//! and again (with a later end) when detected again: the dispatcher
//! resolves it once that end passes, as it would for any source that
//! stopped sending. Nothing to re-send on a timer, and nothing lost at a
//! restart (the dispatcher keeps its alerts in `state.redb`).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::model::{Alert, Label, Labels};

pub const UNUSUAL_COUNTRY: &str = "LMSUnusualLoginCountry";
pub const IMPOSSIBLE_TRAVEL: &str = "LMSImpossibleTravel";
pub const BURST_SOURCE: &str = "LMSFailedLoginBurstSource";
pub const BURST_USER: &str = "LMSFailedLoginBurstUser";

/// Every alert the login checks raise; each has a built-in runbook.
pub const ALERT_NAMES: [&str; 4] = [UNUSUAL_COUNTRY, IMPOSSIBLE_TRAVEL, BURST_SOURCE, BURST_USER];

/// The unusual-login patterns (SEV-2 in the guide: `severity=warning`).
#[derive(Clone, Debug, PartialEq)]
pub enum Detection {
    NewCountry {
        user: String,
        country: String,
        source: IpAddr,
        /// The countries seen within the history, for the description.
        known: Vec<String>,
    },
    Travel {
        user: String,
        from_country: String,
        country: String,
        source: IpAddr,
        km: f64,
        minutes: f64,
    },
    BurstSource {
        source: IpAddr,
        country: Option<String>,
        failures: usize,
        window: Duration,
    },
    BurstUser {
        user: String,
        failures: usize,
        window: Duration,
    },
}

impl Detection {
    pub fn alertname(&self) -> &'static str {
        match self {
            Detection::NewCountry { .. } => UNUSUAL_COUNTRY,
            Detection::Travel { .. } => IMPOSSIBLE_TRAVEL,
            Detection::BurstSource { .. } => BURST_SOURCE,
            Detection::BurstUser { .. } => BURST_USER,
        }
    }

    /// What the monthly security report counts it as: a login from an
    /// unusual place is an anomaly, a run of failures an attack on sign-in.
    pub fn category(&self) -> &'static str {
        match self {
            Detection::NewCountry { .. } | Detection::Travel { .. } => "login_anomaly",
            Detection::BurstSource { .. } | Detection::BurstUser { .. } => "security",
        }
    }

    /// The alert, firing from `now` until `resolve_after` later; links
    /// start at `external_url` (no trailing slash).
    pub fn alert(&self, now: SystemTime, resolve_after: Duration, external_url: &str) -> Alert {
        let name = self.alertname();
        let mut labels = vec![
            Label::new("alertname", name),
            Label::new("severity", "warning"),
            Label::new("category", self.category()),
        ];
        let (summary, description, search) = match self {
            Detection::NewCountry {
                user,
                country,
                source,
                known,
            } => {
                labels.push(Label::new("user", user.as_str()));
                labels.push(Label::new("country", country.as_str()));
                labels.push(Label::new("source", source.to_string()));
                (
                    format!("User {user} logged in from {country}, a country not seen for them recently"),
                    format!(
                        "A successful login of {user} from {source} ({country}); within the login history that user logged in only from {}.",
                        known.join(", ")
                    ),
                    user.clone(),
                )
            }
            Detection::Travel {
                user,
                from_country,
                country,
                source,
                km,
                minutes,
            } => {
                labels.push(Label::new("user", user.as_str()));
                labels.push(Label::new("country", country.as_str()));
                labels.push(Label::new("source", source.to_string()));
                (
                    format!(
                        "User {user} logged in from {country} {minutes:.0} min after a login in {from_country}, {km:.0} km away"
                    ),
                    format!(
                        "Two successful logins of {user}, the second from {source} ({country}), at least {km:.0} km (accuracy radii taken off) and {minutes:.1} minutes apart: faster than anyone travels. The account may be shared or taken over."
                    ),
                    user.clone(),
                )
            }
            Detection::BurstSource {
                source,
                country,
                failures,
                window,
            } => {
                labels.push(Label::new("source", source.to_string()));
                if let Some(c) = country {
                    labels.push(Label::new("country", c.as_str()));
                }
                (
                    format!(
                        "{failures} failed logins from {source} within {}",
                        minutes_text(*window)
                    ),
                    format!(
                        "The address {source}{} failed to log in {failures} times within {}: password guessing or credential stuffing from one address.",
                        country.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
                        minutes_text(*window)
                    ),
                    source.to_string(),
                )
            }
            Detection::BurstUser {
                user,
                failures,
                window,
            } => {
                labels.push(Label::new("user", user.as_str()));
                (
                    format!(
                        "{failures} failed logins for user {user} within {}",
                        minutes_text(*window)
                    ),
                    format!(
                        "Logins of {user} failed {failures} times within {}: someone is guessing that account's password, possibly from many addresses.",
                        minutes_text(*window)
                    ),
                    user.clone(),
                )
            }
        };
        let runbook = format!("{external_url}/runbooks/{name}");
        Alert {
            labels: Labels::new(labels),
            annotations: Labels::new(vec![
                Label::new("summary", summary),
                Label::new("description", description),
                Label::new("runbook_url", runbook),
            ]),
            starts_at: now,
            ends_at: now + resolve_after,
            generator_url: format!("{external_url}/logs?q={search}"),
        }
    }
}

fn minutes_text(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_carries_the_token_the_labels_and_a_runbook() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let a = Detection::NewCountry {
            user: "u_0123".into(),
            country: "US".into(),
            source: "216.160.83.56".parse().unwrap(),
            known: vec!["GB".into()],
        }
        .alert(now, Duration::from_secs(3600), "http://belfry:9900");
        assert_eq!(
            a.labels.to_string(),
            r#"{alertname="LMSUnusualLoginCountry", category="login_anomaly", country="US", severity="warning", source="216.160.83.56", user="u_0123"}"#
        );
        assert_eq!(
            a.annotations.get("runbook_url"),
            Some("http://belfry:9900/runbooks/LMSUnusualLoginCountry")
        );
        assert!(a.annotations.get("description").unwrap().contains("only from GB"));
        assert_eq!(a.ends_at, now + Duration::from_secs(3600));
        let b = Detection::BurstSource {
            source: "203.0.113.9".parse().unwrap(),
            country: None,
            failures: 20,
            window: Duration::from_secs(300),
        }
        .alert(now, Duration::from_secs(60), "");
        assert_eq!(b.labels.get("country"), None);
        assert_eq!(
            b.annotations.get("summary"),
            Some("20 failed logins from 203.0.113.9 within 5 min")
        );
    }
}
