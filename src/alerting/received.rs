//! The history of received alerts: which state changes an alert makes
//! that reached the dispatcher from a source other than Belfry's own rules
//! (the Alertmanager API, the errors subsystem). The rule manager records
//! its alerts' changes itself; for the others the dispatcher is the only
//! one that sees them come and go, so it decides here and hands the
//! changes to the `model::AlertHistorySink`.
//!
//! An alert is `inactive → firing` when it arrives active and the
//! history's last word on it is not `firing` (first arrival, or again
//! after it ended); `firing → inactive` when it arrives resolved, or when
//! its `ends_at` passes without a refresh (a lapse, found by the
//! dispatcher's maintenance and recorded at `ends_at`). Re-sends of a
//! firing alert record nothing. The history's last word is kept with the
//! held alert (`AlertEntry::recorded_firing`), in `state.redb` too, so an
//! alert re-sent after a restart is known to be firing already.

use std::time::SystemTime;

use crate::model::AlertSource;

/// What the dispatcher held of an alert before a new copy arrived.
#[derive(Clone, Copy, Debug)]
pub struct Before {
    pub recorded_firing: bool,
    pub ends_at: SystemTime,
    pub updated_at: SystemTime,
}

/// One state change: to `firing` (or from it) at `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    pub firing: bool,
    pub at: SystemTime,
}

/// What an arrival records, and the history's last word on the alert after it.
#[derive(Debug, PartialEq)]
pub struct Arrival {
    pub changes: Vec<Change>,
    pub recorded_firing: bool,
}

/// The changes an alert from `source` makes when it arrives at `now`,
/// active or not (`ends_at` is its end as sent, or as `resolve_timeout`
/// made it), over what was held of it (`before`).
pub fn arrival(
    before: Option<Before>,
    source: AlertSource,
    active: bool,
    ends_at: SystemTime,
    now: SystemTime,
) -> Arrival {
    let mut recorded_firing = before.is_some_and(|b| b.recorded_firing);
    if source == AlertSource::Rules {
        // The rule manager records its own; a firing alert another source
        // sent first under the same labels keeps its open entry, which
        // ends when the alert does.
        return Arrival {
            changes: Vec::new(),
            recorded_firing,
        };
    }
    let mut changes = Vec::new();
    if let Some(b) = before
        && b.recorded_firing
        && b.ends_at <= now
    {
        // It lapsed before maintenance saw it: that end comes first.
        changes.push(Change {
            firing: false,
            at: b.ends_at,
        });
        recorded_firing = false;
    }
    match (recorded_firing, active) {
        (false, true) => {
            changes.push(Change {
                firing: true,
                at: now,
            });
            recorded_firing = true;
        }
        (true, false) => {
            // When the source says it ended, but not before it was last
            // seen firing (the history stays in order) nor in the future.
            let seen = before.map_or(now, |b| b.updated_at);
            changes.push(Change {
                firing: false,
                at: ends_at.max(seen).min(now),
            });
            recorded_firing = false;
        }
        _ => {}
    }
    Arrival {
        changes,
        recorded_firing,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn held(recorded_firing: bool, ends_at: u64, updated_at: u64) -> Option<Before> {
        Some(Before {
            recorded_firing,
            ends_at: t(ends_at),
            updated_at: t(updated_at),
        })
    }

    fn fired(at: u64) -> Change {
        Change {
            firing: true,
            at: t(at),
        }
    }

    fn ended(at: u64) -> Change {
        Change {
            firing: false,
            at: t(at),
        }
    }

    #[test]
    fn a_first_active_arrival_fires_and_a_resend_records_nothing() {
        let first = arrival(None, AlertSource::Api, true, t(400), t(100));
        assert_eq!(first.changes, vec![fired(100)]);
        assert!(first.recorded_firing);
        let resend = arrival(held(true, 400, 100), AlertSource::Api, true, t(460), t(160));
        assert_eq!(resend.changes, vec![]);
        assert!(resend.recorded_firing);
    }

    #[test]
    fn a_resolved_arrival_ends_it_at_its_end_but_not_before_it_was_last_seen() {
        let resolved = arrival(held(true, 400, 160), AlertSource::Errors, false, t(170), t(200));
        assert_eq!(resolved.changes, vec![ended(170)]);
        assert!(!resolved.recorded_firing);
        // An end before the last re-send is recorded at that re-send.
        let early = arrival(held(true, 400, 160), AlertSource::Api, false, t(120), t(200));
        assert_eq!(early.changes, vec![ended(160)]);
        // Resolved again: nothing new.
        let again = arrival(held(false, 170, 200), AlertSource::Api, false, t(170), t(230));
        assert_eq!(
            again,
            Arrival {
                changes: vec![],
                recorded_firing: false
            }
        );
    }

    #[test]
    fn an_alert_first_seen_resolved_records_nothing() {
        let seen = arrival(None, AlertSource::Api, false, t(90), t(100));
        assert_eq!(seen.changes, vec![]);
        assert!(!seen.recorded_firing);
    }

    #[test]
    fn an_alert_that_lapsed_unseen_ends_at_its_end_then_fires_again() {
        // Held as firing until 400; re-sent active at 500 before the
        // maintenance found the lapse.
        let refire = arrival(held(true, 400, 100), AlertSource::Api, true, t(800), t(500));
        assert_eq!(refire.changes, vec![ended(400), fired(500)]);
        assert!(refire.recorded_firing);
        // Re-sent resolved instead: the lapse is its end.
        let late = arrival(held(true, 400, 100), AlertSource::Api, false, t(450), t(500));
        assert_eq!(late.changes, vec![ended(400)]);
        assert!(!late.recorded_firing);
    }

    #[test]
    fn an_alert_that_ended_fires_again_when_it_comes_back() {
        let back = arrival(held(false, 170, 200), AlertSource::Errors, true, t(900), t(600));
        assert_eq!(back.changes, vec![fired(600)]);
        assert!(back.recorded_firing);
    }

    #[test]
    fn the_rules_alerts_are_left_to_the_rule_manager() {
        let rule = arrival(None, AlertSource::Rules, true, t(400), t(100));
        assert_eq!(
            rule,
            Arrival {
                changes: vec![],
                recorded_firing: false
            }
        );
        let resolved = arrival(held(false, 400, 100), AlertSource::Rules, false, t(150), t(150));
        assert_eq!(resolved.changes, vec![]);
        // Labels another source fired keep their open entry.
        let shared = arrival(held(true, 400, 100), AlertSource::Rules, true, t(500), t(150));
        assert!(shared.changes.is_empty() && shared.recorded_firing);
    }

    #[test]
    fn an_alert_known_as_firing_after_a_restart_records_nothing_when_re_sent() {
        // What `state.redb` gave back: firing, recorded, until 400.
        let restored = held(true, 400, 100);
        let resend = arrival(restored, AlertSource::Api, true, t(500), t(300));
        assert!(resend.changes.is_empty() && resend.recorded_firing);
        // Kept before the history knew received alerts: not recorded yet.
        let unknown = arrival(held(false, 400, 100), AlertSource::Api, true, t(500), t(300));
        assert_eq!(unknown.changes, vec![fired(300)]);
    }
}
