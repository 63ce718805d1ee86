//! An aggregation group: the alerts of one route that share group labels,
//! and the timers of that group (`group_wait` before the first
//! notification, then one flush every `group_interval`). Each group runs as
//! its own task, so a slow receiver only delays its own groups.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::route::Route;
use super::store::HeldAlert;
use crate::model::Labels;

/// What a group's timer loop needs from whoever owns the groups (the
/// dispatcher): notify the group's alerts, and forget the group once it is
/// empty. A trait here, so a group does not depend on the dispatcher that
/// holds it.
pub trait GroupOwner: Send + Sync + 'static {
    /// Sends the group's alerts through the pipeline (inhibition, silences,
    /// dedup, receivers).
    fn flush_group(&self, group: &Group) -> impl Future<Output = ()> + Send;
    /// Forgets the group when it holds no alerts; true when it did.
    fn forget_group_if_empty(&self, group: &Arc<Group>) -> bool;
}

pub struct Group {
    pub key: String,
    pub labels: Labels,
    /// The route's settings (its children are not kept).
    pub route: Route,
    state: Mutex<GroupState>,
    wake: Notify,
}

#[derive(Default)]
struct GroupState {
    /// The dispatcher's own copies, shared.
    alerts: HashMap<u64, Arc<HeldAlert>>,
    flushed: bool,
}

impl Group {
    pub fn new(key: String, labels: Labels, route: &Route) -> Arc<Group> {
        let mut route = route.clone();
        route.routes.clear();
        Arc::new(Group {
            key,
            labels,
            route,
            state: Mutex::new(GroupState::default()),
            wake: Notify::new(),
        })
    }

    /// Adds or updates an alert. An alert that started longer than
    /// `group_wait` ago is notified at once in a group that has not
    /// notified yet (as Alertmanager does, e.g. after a restart).
    pub fn insert(&self, fp: u64, alert: Arc<HeldAlert>, now: SystemTime) {
        let mut st = self.state.lock();
        let overdue = !st.flushed && alert.starts_at + self.route.group_wait <= now;
        st.alerts.insert(fp, alert);
        if overdue {
            self.wake.notify_one();
        }
    }

    /// The group's alerts, in label order.
    pub fn snapshot(&self) -> Vec<(u64, Arc<HeldAlert>)> {
        let mut v: Vec<(u64, Arc<HeldAlert>)> = self
            .state
            .lock()
            .alerts
            .iter()
            .map(|(fp, a)| (*fp, a.clone()))
            .collect();
        // Pair by pair, as `Labels` orders.
        v.sort_by(|a, b| a.1.label_pairs().cmp(b.1.label_pairs()));
        v
    }

    /// Drops resolved alerts that did not change since `snapshot` was
    /// taken (a re-fired alert stays).
    pub fn remove_unchanged(&self, resolved: &[(u64, Arc<HeldAlert>)]) {
        let mut st = self.state.lock();
        for (fp, a) in resolved {
            if st.alerts.get(fp) == Some(a) {
                st.alerts.remove(fp);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.state.lock().alerts.is_empty()
    }

    fn mark_flushed(&self) {
        self.state.lock().flushed = true;
    }

    /// The group's timer loop: waits `group_wait`, flushes, then flushes
    /// every `group_interval` until the group is empty or cancelled.
    pub async fn run(self: Arc<Self>, owner: Arc<impl GroupOwner>, cancel: CancellationToken) {
        let mut next = Instant::now() + self.route.group_wait;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
                _ = self.wake.notified() => {
                    if self.state.lock().flushed {
                        continue;
                    }
                }
            }
            next = Instant::now() + self.route.group_interval;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = owner.flush_group(&self) => {}
            }
            self.mark_flushed();
            if owner.forget_group_if_empty(&self) {
                return;
            }
        }
    }
}
