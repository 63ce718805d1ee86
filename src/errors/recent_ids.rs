//! The ids of the most recently stored events, so an SDK's retry that
//! arrives while the first copy is still being written is recognized
//! without a read. Bounded: the oldest id goes when a new one comes.
//! Older ids are found on disk (`error_event_ids`) before an event is
//! recorded, which also covers a restart.

use std::collections::{HashMap, VecDeque};

/// ~50 bytes an id: about 1 MB at this size.
pub const RECENT_IDS: usize = 20_000;

#[derive(Debug, Default)]
pub struct RecentIds {
    issue_of: HashMap<(u64, u128), u64>,
    order: VecDeque<(u64, u128)>,
}

/// An event id (32 hex digits once normalized) as a number.
fn id_number(event_id: &str) -> Option<u128> {
    u128::from_str_radix(event_id, 16).ok()
}

impl RecentIds {
    /// The issue of an event of `project` with this id, if it is recent.
    pub fn issue_of(&self, project: u64, event_id: &str) -> Option<u64> {
        self.issue_of.get(&(project, id_number(event_id)?)).copied()
    }

    /// Forgets an id whose event was deleted. Its place in the order
    /// stays until it comes round; the map is what answers.
    pub fn remove(&mut self, project: u64, event_id: &str) {
        if let Some(id) = id_number(event_id) {
            self.issue_of.remove(&(project, id));
        }
    }

    pub fn insert(&mut self, project: u64, event_id: &str, issue: u64) {
        let Some(id) = id_number(event_id) else {
            return;
        };
        if self.issue_of.insert((project, id), issue).is_some() {
            return;
        }
        self.order.push_back((project, id));
        if self.order.len() > RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.issue_of.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_bounded_number_per_project() {
        let mut r = RecentIds::default();
        let id = |i: usize| format!("{i:032x}");
        r.insert(1, &id(0), 5);
        assert_eq!(r.issue_of(1, &id(0)), Some(5));
        assert_eq!(r.issue_of(2, &id(0)), None);
        for i in 1..=RECENT_IDS {
            r.insert(1, &id(i), 6);
        }
        assert_eq!(r.issue_of(1, &id(0)), None);
        assert_eq!(r.issue_of(1, &id(RECENT_IDS)), Some(6));
        assert_eq!(r.order.len(), RECENT_IDS);
        assert_eq!(r.issue_of.len(), RECENT_IDS);
        r.remove(1, &id(RECENT_IDS));
        assert_eq!(r.issue_of(1, &id(RECENT_IDS)), None);
    }
}
