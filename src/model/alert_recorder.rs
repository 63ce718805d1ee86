//! A sink that keeps what it is sent, for the unit tests of every source
//! that hands alerts to the dispatcher (errors, login patterns).

use parking_lot::Mutex;

use super::{Alert, AlertSink};

#[derive(Default)]
pub struct AlertRecorder(pub Mutex<Vec<Alert>>);

impl AlertSink for AlertRecorder {
    fn send(&self, alerts: Vec<Alert>) {
        self.0.lock().extend(alerts);
    }
}

impl AlertRecorder {
    /// The alert names sent since the last take, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
            .iter()
            .map(|a| a.labels.get("alertname").unwrap_or_default().to_string())
            .collect()
    }

    /// The last alert sent (panics when none was).
    pub fn last(&self) -> Alert {
        self.0.lock().last().cloned().expect("an alert")
    }
}
