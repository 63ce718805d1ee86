//! What a group flush does: drop muted alerts (inhibited, silenced, or the
//! route's time intervals), then for every integration of the receiver,
//! concurrently: decide from the notification log whether anything is new,
//! send with retries and exponential backoff until the flush deadline,
//! and log what was sent.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use tokio::time::Instant;

use super::dispatcher::{Dispatcher, Receiver, Runtime};
use super::group::Group;
use super::nflog::{self, LogEntry};
use super::notify::{Notification, NotifiedAlert, Notifier};
use super::store::HeldAlert;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A flush may retry for at least this long even with a short group_interval.
const MIN_FLUSH_DEADLINE: Duration = Duration::from_secs(10);

impl Dispatcher {
    pub(super) async fn flush(&self, group: &Group) {
        let now = SystemTime::now();
        let snapshot = group.snapshot();
        if snapshot.is_empty() {
            return;
        }
        let rt = self.runtime();
        let resolved: Vec<(u64, Arc<HeldAlert>)> = snapshot
            .iter()
            .filter(|(_, a)| a.is_resolved_at(now))
            .cloned()
            .collect();
        let receiver = rt.receivers.get(&group.route.receiver);
        if receiver.is_none() {
            tracing::error!(
                receiver = group.route.receiver,
                "route points at an unknown receiver"
            );
        }
        // A receiver without integrations (the null receiver) has nothing
        // to send: the group's alerts are not unpacked for it.
        // A flood-mode group that outlived flood mode's end sends nothing
        // (it goes when the groups are rebuilt at the end).
        if let Some(receiver) = receiver.filter(|r| !r.integrations.is_empty())
            && !time_muted(&rt, group, now)
            && !self.flood_group_lapsed(group, now)
        {
            let alerts: Vec<NotifiedAlert> = snapshot
                .into_iter()
                .map(|(fp, a)| (fp, a.to_alert()))
                .filter(|(_, a)| {
                    self.inhibited_by(&rt, &a.labels, now).is_empty()
                        && self.silenced_by(&a.labels, now).is_empty()
                })
                .map(|(fp, a)| NotifiedAlert {
                    resolved: a.is_resolved_at(now),
                    alert: a,
                    fingerprint: fp,
                })
                .collect();
            let deadline = Instant::now() + group.route.group_interval.max(MIN_FLUSH_DEADLINE);
            let sends =
                receiver.integrations.iter().enumerate().map(|(i, n)| {
                    self.notify_integration(group, receiver, i, n.clone(), &alerts, deadline, now)
                });
            join_all(sends).await;
        }
        group.remove_unchanged(&resolved);
    }

    #[allow(clippy::too_many_arguments)]
    async fn notify_integration(
        &self,
        group: &Group,
        receiver: &Receiver,
        index: usize,
        notifier: Arc<dyn Notifier>,
        alerts: &[NotifiedAlert],
        deadline: Instant,
        now: SystemTime,
    ) {
        let integration = notifier.integration();
        let key = nflog::key(&group.key, &receiver.name, integration, index);
        let mut firing: Vec<u64> = alerts
            .iter()
            .filter(|a| !a.resolved)
            .map(|a| a.fingerprint)
            .collect();
        let mut resolved: Vec<u64> = alerts
            .iter()
            .filter(|a| a.resolved)
            .map(|a| a.fingerprint)
            .collect();
        firing.sort_unstable();
        resolved.sort_unstable();
        let entry = self.nflog.get(&key);
        if !nflog::needs_update(
            entry.as_ref(),
            &firing,
            &resolved,
            notifier.send_resolved(),
            group.route.repeat_interval,
            now,
        ) {
            return;
        }
        let to_send: Vec<NotifiedAlert> = alerts
            .iter()
            .filter(|a| !a.resolved || notifier.send_resolved())
            .cloned()
            .collect();
        if !to_send.is_empty() {
            let n = Notification::new(
                &receiver.name,
                &group.key,
                group.labels.clone(),
                &self.external_url,
                to_send,
            );
            if !self
                .send_with_retries(&receiver.name, notifier.as_ref(), &n, deadline)
                .await
            {
                return;
            }
        }
        if let Err(e) = self
            .nflog
            .log(
                key,
                LogEntry {
                    firing,
                    resolved,
                    timestamp: now,
                },
            )
            .await
        {
            tracing::error!(error = %e, receiver = receiver.name, "cannot record notification; it may repeat after a restart");
        }
    }

    /// True once delivered; false when the error is permanent or the
    /// deadline passed.
    async fn send_with_retries(
        &self,
        receiver: &str,
        notifier: &dyn Notifier,
        n: &Notification,
        deadline: Instant,
    ) -> bool {
        let integration = notifier.integration();
        let total = self.metrics.notifications.with(&[receiver, integration]);
        let failed = self.metrics.notifications_failed.with(&[receiver, integration]);
        let mut backoff = BACKOFF_START;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            total.inc();
            let outcome = match tokio::time::timeout_at(deadline, notifier.notify(n)).await {
                Ok(r) => r,
                Err(_) => Err(super::notify::NotifyError::permanent("flush deadline passed")),
            };
            let err = match outcome {
                Ok(delivered) => {
                    for field in delivered.truncated {
                        self.metrics
                            .notifications_truncated
                            .with(&[receiver, integration, field])
                            .inc();
                    }
                    return true;
                }
                Err(e) => e,
            };
            failed.inc();
            let retry_at = Instant::now() + jitter(backoff);
            if !err.retryable || retry_at >= deadline {
                tracing::error!(receiver, integration, attempt, error = %err, "notification failed; giving up until the next flush");
                return false;
            }
            tracing::warn!(receiver, integration, attempt, error = %err, "notification failed; retrying");
            tokio::time::sleep_until(retry_at).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// Spreads retries of many groups so a recovering receiver is not hit by
/// all of them at once: 75–125 % of the nominal backoff.
fn jitter(d: Duration) -> Duration {
    let factor = 0.75 + rand::random::<f64>() * 0.5;
    d.mul_f64(factor)
}

fn time_muted(rt: &Runtime, group: &Group, now: SystemTime) -> bool {
    let active = |names: &[String]| {
        names
            .iter()
            .any(|n| rt.time_intervals.get(n).is_some_and(|ti| ti.contains(now)))
    };
    if active(&group.route.mute_time_intervals) {
        return true;
    }
    !group.route.active_time_intervals.is_empty() && !active(&group.route.active_time_intervals)
}
