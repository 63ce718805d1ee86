//! What every integration implements ([`Notifier`]) and what it is given:
//! one [`Notification`] of a group's alerts; a failure says whether a
//! retry may help ([`NotifyError`]).

use std::future::Future;
use std::pin::Pin;

use crate::model::{Alert, Labels};

/// What one notification says: the group, its alerts and what they share.
#[derive(Clone, Debug)]
pub struct Notification {
    pub receiver: String,
    /// Identifies the aggregation group (route path and group labels).
    pub group_key: String,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    pub external_url: String,
    pub alerts: Vec<NotifiedAlert>,
}

#[derive(Clone, Debug)]
pub struct NotifiedAlert {
    pub alert: Alert,
    pub fingerprint: u64,
    pub resolved: bool,
}

impl Notification {
    /// Builds a notification; common labels and annotations are those every
    /// alert has with the same value.
    pub fn new(
        receiver: &str,
        group_key: &str,
        group_labels: Labels,
        external_url: &str,
        alerts: Vec<NotifiedAlert>,
    ) -> Notification {
        let common = |pick: fn(&Alert) -> &Labels| -> Labels {
            let Some(first) = alerts.first() else {
                return Labels::default();
            };
            let kept = pick(&first.alert)
                .iter()
                .filter(|l| {
                    alerts[1..]
                        .iter()
                        .all(|a| pick(&a.alert).get(&l.name) == Some(l.value.as_str()))
                })
                .cloned()
                .collect();
            Labels::from_sorted_unchecked(kept)
        };
        let common_labels = common(|a| &a.labels);
        let common_annotations = common(|a| &a.annotations);
        Notification {
            receiver: receiver.to_string(),
            group_key: group_key.to_string(),
            group_labels,
            common_labels,
            common_annotations,
            external_url: external_url.to_string(),
            alerts,
        }
    }

    pub fn firing_count(&self) -> usize {
        self.alerts.iter().filter(|a| !a.resolved).count()
    }

    /// `firing` while any alert fires, else `resolved`.
    pub fn status(&self) -> &'static str {
        if self.firing_count() > 0 {
            "firing"
        } else {
            "resolved"
        }
    }
}

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    pub retryable: bool,
    pub message: String,
}

impl NotifyError {
    pub fn retryable(message: impl Into<String>) -> Self {
        NotifyError {
            retryable: true,
            message: message.into(),
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        NotifyError {
            retryable: false,
            message: message.into(),
        }
    }
}

/// What a successful delivery reports: the fields cut to the service's
/// limits, which the pipeline counts.
#[derive(Debug, Default)]
pub struct Delivered {
    pub truncated: Vec<&'static str>,
}

pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Delivered, NotifyError>> + Send + 'a>>;

/// A report to deliver (the SEV-3 reports of `crate::reports`): its
/// subject, the page as HTML and the same content as plain text.
#[derive(Clone, Debug)]
pub struct ReportMail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// One integration of a receiver (an e-mail config, a webhook config).
pub trait Notifier: Send + Sync {
    /// The integration's kind as counted in metrics: `email`, `webhook`.
    fn integration(&self) -> &'static str;
    /// Whether resolved alerts are sent to this integration.
    fn send_resolved(&self) -> bool;
    /// Sends one notification; the caller applies timeouts and retries.
    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a>;
    /// Sends a report, where the integration carries one (e-mail); None
    /// where it does not, and the report skips it.
    fn send_report<'a>(&'a self, _report: &'a ReportMail) -> Option<NotifyFuture<'a>> {
        None
    }
    /// Where it delivers, in a few words, for reports' answers.
    fn describe(&self) -> String {
        self.integration().to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    pub(crate) fn notification() -> Notification {
        let alert = Alert {
            labels: Labels::from_pairs(&[("alertname", "HighLatency"), ("job", "api"), ("severity", "page")]),
            annotations: Labels::from_pairs(&[("summary", "p99 above 2s")]),
            starts_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ends_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            generator_url: "http://belfry/graph".into(),
        };
        let fp = crate::alerting::fingerprint::fingerprint(&alert.labels);
        Notification::new(
            "team",
            "{}:{alertname=\"HighLatency\"}",
            Labels::from_pairs(&[("alertname", "HighLatency")]),
            "http://belfry.example",
            vec![NotifiedAlert {
                alert,
                fingerprint: fp,
                resolved: false,
            }],
        )
    }

    #[test]
    fn common_labels_are_shared_values() {
        let mut n = notification();
        let mut second = n.alerts[0].clone();
        second.alert.labels = Labels::from_pairs(&[("alertname", "HighLatency"), ("job", "web")]);
        second.resolved = true;
        n = Notification::new(
            "r",
            "k",
            n.group_labels.clone(),
            "",
            vec![n.alerts[0].clone(), second],
        );
        assert_eq!(
            n.common_labels,
            Labels::from_pairs(&[("alertname", "HighLatency")])
        );
        assert_eq!(n.status(), "firing");
        assert_eq!(n.firing_count(), 1);
    }
}
