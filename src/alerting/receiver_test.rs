//! A receiver's test notification (`POST /api/belfry/receivers/{name}/test`,
//! which `belfry verify --send-test` calls): one synthetic alert,
//! `alertname="BelfryVerifyTest"`, sent once through every integration of
//! the receiver as the running configuration builds it. It goes around
//! routing, grouping, silences and the notification log, so a test never
//! mutes, delays or repeats a real alert, and the answer is each
//! integration's own outcome — delivered, or the error the service gave.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use tokio::sync::Semaphore;

use super::dispatcher::Dispatcher;
use super::error::AlertingError;
use super::fingerprint::fingerprint;
use super::notify::{Notification, NotifiedAlert, Notifier, NotifyError};
use crate::model::{Alert, Labels};

/// The test alert's name, which staff and routes can recognise.
pub const TEST_ALERTNAME: &str = "BelfryVerifyTest";

/// Test sends in flight at once, server-wide: each may hold an SMTP
/// connection or an HTTP request for up to [`SEND_TIMEOUT`].
pub const MAX_TESTS_AT_ONCE: usize = 4;

/// One attempt per integration, no retries: a test reports what the
/// service answered the first time.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the test alert says it fires, for services that show an end.
const TEST_ALERT_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// The test sends in flight, bounded by [`MAX_TESTS_AT_ONCE`].
pub struct ReceiverTests {
    slots: Semaphore,
}

impl Default for ReceiverTests {
    fn default() -> Self {
        ReceiverTests {
            slots: Semaphore::new(MAX_TESTS_AT_ONCE),
        }
    }
}

/// What one integration of the receiver did with the test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntegrationOutcome {
    /// `email`, `webhook`, `slack`, …
    pub integration: &'static str,
    /// Its position among the receiver's integrations of any kind, as the
    /// configuration lists them (e-mail first, then webhooks, then chat).
    pub index: usize,
    pub delivered: bool,
    /// Why it was not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of a test of one receiver.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReceiverTestOutcome {
    pub receiver: String,
    pub alertname: &'static str,
    pub integrations: Vec<IntegrationOutcome>,
}

impl Dispatcher {
    /// Sends the test alert through every integration of `receiver`,
    /// concurrently; `requested_by` is named in the alert's text.
    pub async fn test_receiver(
        &self,
        receiver: &str,
        requested_by: &str,
    ) -> Result<ReceiverTestOutcome, AlertingError> {
        let Ok(_slot) = self.receiver_tests.slots.try_acquire() else {
            self.metrics.receiver_tests_refused.inc();
            return Err(AlertingError::TestsBusy(MAX_TESTS_AT_ONCE));
        };
        let runtime = self.runtime();
        let found = runtime
            .receivers
            .get(receiver)
            .cloned()
            .ok_or_else(|| AlertingError::ReceiverNotFound(receiver.to_string()))?;
        let notification = test_notification(receiver, requested_by, &self.external_url, SystemTime::now());
        let sends = found
            .integrations
            .iter()
            .enumerate()
            .map(|(index, n)| self.send_test(receiver, index, n.clone(), &notification));
        let integrations = join_all(sends).await;
        Ok(ReceiverTestOutcome {
            receiver: receiver.to_string(),
            alertname: TEST_ALERTNAME,
            integrations,
        })
    }

    async fn send_test(
        &self,
        receiver: &str,
        index: usize,
        notifier: Arc<dyn Notifier>,
        n: &Notification,
    ) -> IntegrationOutcome {
        let integration = notifier.integration();
        let outcome = match tokio::time::timeout(SEND_TIMEOUT, notifier.notify(n)).await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(NotifyError::permanent(format!(
                "no answer within {}s",
                SEND_TIMEOUT.as_secs()
            ))),
        };
        let label = if outcome.is_ok() { "delivered" } else { "failed" };
        self.metrics
            .receiver_tests
            .with(&[receiver, integration, label])
            .inc();
        match outcome {
            Ok(()) => {
                tracing::info!(receiver, integration, index, "test notification delivered");
                IntegrationOutcome {
                    integration,
                    index,
                    delivered: true,
                    error: None,
                }
            }
            Err(e) => {
                tracing::warn!(receiver, integration, index, error = %e, "test notification failed");
                IntegrationOutcome {
                    integration,
                    index,
                    delivered: false,
                    error: Some(e.message),
                }
            }
        }
    }
}

/// The test alert as a notification of its own group, said plainly to be
/// a test in its labels and its text.
fn test_notification(
    receiver: &str,
    requested_by: &str,
    external_url: &str,
    now: SystemTime,
) -> Notification {
    let labels = Labels::from_pairs(&[
        ("alertname", TEST_ALERTNAME),
        ("belfry_test", "true"),
        ("receiver", receiver),
        ("severity", "none"),
    ]);
    let annotations = Labels::from_pairs(&[
        ("summary", "Test notification from Belfry: no action needed"),
        (
            "description",
            &format!(
                "A test of receiver {receiver:?}, requested by {requested_by} (belfry verify --send-test or the receivers API), to check that alerts reach this channel. It is not a real alert."
            ),
        ),
    ]);
    let fp = fingerprint(&labels);
    let alert = Alert {
        labels,
        annotations,
        starts_at: now,
        ends_at: now + TEST_ALERT_LIFETIME,
        generator_url: external_url.to_string(),
    };
    Notification::new(
        receiver,
        &format!("{{}}/test:{{alertname=\"{TEST_ALERTNAME}\"}}"),
        Labels::from_pairs(&[("alertname", TEST_ALERTNAME)]),
        external_url,
        vec![NotifiedAlert {
            alert,
            fingerprint: fp,
            resolved: false,
        }],
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::alerting::DispatcherOptions;
    use crate::alerting::dispatcher::Receiver;
    use crate::alerting::notify::{Delivered, NotifyFuture};
    use crate::selfmetrics::Registry;

    #[test]
    fn the_test_alert_says_it_is_a_test() {
        let n = test_notification("team", "ci-token", "http://belfry", SystemTime::now());
        assert_eq!(n.receiver, "team");
        assert_eq!(n.status(), "firing");
        let alert = &n.alerts[0].alert;
        assert_eq!(alert.labels.get("alertname"), Some(TEST_ALERTNAME));
        assert_eq!(alert.labels.get("belfry_test"), Some("true"));
        assert!(
            alert
                .annotations
                .get("description")
                .unwrap()
                .contains("requested by ci-token"),
            "{:?}",
            alert.annotations
        );
        assert!(alert.ends_at > alert.starts_at);
    }

    #[tokio::test]
    async fn an_unknown_receiver_is_named() {
        let d = Dispatcher::new(None, DispatcherOptions::default(), &Registry::new()).unwrap();
        let e = d.test_receiver("nope", "me").await.unwrap_err();
        assert!(
            matches!(&e, AlertingError::ReceiverNotFound(n) if n == "nope"),
            "{e}"
        );
        // The null receiver of a server without alerting has nothing to send.
        let outcome = d.test_receiver("null", "me").await.unwrap();
        assert!(outcome.integrations.is_empty());
    }

    struct Waiting(Arc<tokio::sync::Notify>, Arc<AtomicUsize>);

    impl Notifier for Waiting {
        fn integration(&self) -> &'static str {
            "webhook"
        }
        fn send_resolved(&self) -> bool {
            false
        }
        fn notify<'a>(&'a self, _: &'a Notification) -> NotifyFuture<'a> {
            Box::pin(async move {
                self.1.fetch_add(1, Ordering::SeqCst);
                self.0.notified().await;
                Ok(Delivered::default())
            })
        }
    }

    #[tokio::test]
    async fn tests_beyond_the_limit_are_refused_and_counted() {
        let registry = Registry::new();
        let d = Dispatcher::new(None, DispatcherOptions::default(), &registry).unwrap();
        let release = Arc::new(tokio::sync::Notify::new());
        let started = Arc::new(AtomicUsize::new(0));
        let mut runtime = Dispatcher::prepare(None).unwrap();
        runtime.receivers.insert(
            "hook".into(),
            Arc::new(Receiver {
                name: "hook".into(),
                integrations: vec![Arc::new(Waiting(release.clone(), started.clone()))],
            }),
        );
        d.install(runtime);
        let mut running = Vec::new();
        for _ in 0..MAX_TESTS_AT_ONCE {
            let d = d.clone();
            running.push(tokio::spawn(async move { d.test_receiver("hook", "me").await }));
        }
        while started.load(Ordering::SeqCst) < MAX_TESTS_AT_ONCE {
            tokio::task::yield_now().await;
        }
        let refused = d.test_receiver("hook", "me").await.unwrap_err();
        assert!(matches!(refused, AlertingError::TestsBusy(_)), "{refused}");
        assert_eq!(d.metrics.receiver_tests_refused.get(), 1);
        release.notify_waiters();
        for r in running {
            let outcome = r.await.unwrap().unwrap();
            assert!(outcome.integrations[0].delivered);
        }
        assert_eq!(
            d.metrics
                .receiver_tests
                .with(&["hook", "webhook", "delivered"])
                .get(),
            MAX_TESTS_AT_ONCE as u64
        );
    }
}
