//! One issue per group: what the list and detail pages show, updated by
//! each event, and its status. An event on a resolved issue reopens it as
//! a regression; one on an issue resolved "in the next release" does so
//! only from another release than the one current at resolving; an issue
//! ignored "until N more events" comes back after the N-th.

use serde::{Deserialize, Serialize};

use super::tags::TagSummary;
use super::{Event, Grouping};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    Unresolved,
    Resolved,
    ResolvedInNextRelease,
    Ignored,
}

impl IssueStatus {
    pub fn parse(s: &str) -> Option<IssueStatus> {
        Some(match s {
            "unresolved" => IssueStatus::Unresolved,
            "resolved" => IssueStatus::Resolved,
            "resolved_in_next_release" | "resolvedInNextRelease" => IssueStatus::ResolvedInNextRelease,
            "ignored" => IssueStatus::Ignored,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Unresolved => "unresolved",
            IssueStatus::Resolved => "resolved",
            IssueStatus::ResolvedInNextRelease => "resolved_in_next_release",
            IssueStatus::Ignored => "ignored",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub id: u64,
    pub project: u64,
    /// The grouping hash the issue was made for.
    pub group: String,
    pub title: String,
    pub culprit: String,
    pub level: String,
    pub status: IssueStatus,
    /// Set when an event reopened the issue after it was resolved;
    /// cleared by the next change of status.
    #[serde(default)]
    pub regressed: bool,
    /// Seconds since the epoch.
    pub first_seen: f64,
    pub last_seen: f64,
    pub count: u64,
    pub user_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_release: Option<String>,
    /// Sorted, each once (a boxed slice: a set's tree node for the one
    /// or two environments an issue has costs ten times their text).
    #[serde(default)]
    pub environments: Box<[String]>,
    /// For `resolved_in_next_release`: the release that was newest when
    /// the issue was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_in_release: Option<String>,
    /// For `ignored` until N more events: the count at which it returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_until_count: Option<u64>,
    /// The most frequent values of each tag key, over all its events.
    #[serde(default, skip_serializing_if = "TagSummary::is_empty")]
    pub tags: TagSummary,
}

/// What an event did to its issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventEffect {
    pub new_issue: bool,
    pub regression: bool,
    pub new_user: bool,
}

/// A status change from the API.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    pub status: IssueStatus,
    /// With `ignored`: come back after this many more events.
    pub ignore_count: Option<u64>,
}

impl Issue {
    pub fn new(id: u64, project: u64, grouping: &Grouping, event: &Event) -> Issue {
        Issue {
            id,
            project,
            group: grouping.hash.clone(),
            title: grouping.title.clone(),
            culprit: grouping.culprit.clone(),
            level: event.level().to_string(),
            status: IssueStatus::Unresolved,
            regressed: false,
            first_seen: event.timestamp(),
            last_seen: event.timestamp(),
            count: 0,
            user_count: 0,
            first_release: None,
            last_release: None,
            environments: Box::default(),
            resolved_in_release: None,
            ignored_until_count: None,
            tags: TagSummary::default(),
        }
    }

    /// Counts `event` in; `new_user` says whether its user is new to the
    /// issue. Returns whether this reopened the issue.
    pub fn record(&mut self, grouping: &Grouping, event: &Event, new_user: bool) -> bool {
        self.count += 1;
        if new_user {
            self.user_count += 1;
        }
        let ts = event.timestamp();
        self.first_seen = self.first_seen.min(ts);
        if ts >= self.last_seen {
            self.last_seen = ts;
            self.level = event.level().to_string();
            self.title = grouping.title.clone();
            self.culprit = grouping.culprit.clone();
        }
        if let Some(r) = event.release() {
            if self.first_release.is_none() {
                self.first_release = Some(r.to_string());
            }
            self.last_release = Some(r.to_string());
        }
        if let Some(env) = event.environment()
            && let Err(at) = self.environments.binary_search_by(|e| e.as_str().cmp(env))
        {
            let mut envs = std::mem::take(&mut self.environments).into_vec();
            envs.insert(at, env.to_string());
            self.environments = envs.into_boxed_slice();
        }
        match self.status {
            IssueStatus::Resolved => self.reopen(true),
            IssueStatus::ResolvedInNextRelease => {
                let same_release = event.release() == self.resolved_in_release.as_deref();
                if !same_release {
                    self.reopen(true);
                }
                !same_release
            }
            IssueStatus::Ignored => {
                if self.ignored_until_count.is_some_and(|n| self.count >= n) {
                    self.reopen(false);
                }
                false
            }
            IssueStatus::Unresolved => false,
        }
    }

    fn reopen(&mut self, regression: bool) -> bool {
        self.status = IssueStatus::Unresolved;
        self.regressed = regression;
        self.resolved_in_release = None;
        self.ignored_until_count = None;
        regression
    }

    pub fn set_status(&mut self, change: &StatusChange) {
        self.status = change.status;
        self.regressed = false;
        self.resolved_in_release = match change.status {
            IssueStatus::ResolvedInNextRelease => self.last_release.clone(),
            _ => None,
        };
        self.ignored_until_count = match (change.status, change.ignore_count) {
            (IssueStatus::Ignored, Some(n)) => Some(self.count + n),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(release: &str) -> Event {
        Event::parse(
            format!(r#"{{"message":"m","release":"{release}","environment":"prod","timestamp":10}}"#)
                .as_bytes(),
            None,
            0.0,
        )
        .unwrap()
    }

    fn grouping() -> Grouping {
        Grouping {
            hash: "h".into(),
            title: "t".into(),
            culprit: "c".into(),
            basis: "message",
        }
    }

    fn issue() -> Issue {
        let e = event("1.0");
        let mut i = Issue::new(1, 1, &grouping(), &e);
        i.record(&grouping(), &e, true);
        i
    }

    #[test]
    fn counts_releases_and_environments() {
        let mut i = issue();
        i.record(&grouping(), &event("1.1"), false);
        assert_eq!((i.count, i.user_count), (2, 1));
        assert_eq!(i.first_release.as_deref(), Some("1.0"));
        assert_eq!(i.last_release.as_deref(), Some("1.1"));
        assert_eq!(i.environments.iter().collect::<Vec<_>>(), ["prod"]);
    }

    #[test]
    fn resolved_then_seen_again_is_a_regression() {
        let mut i = issue();
        i.set_status(&StatusChange {
            status: IssueStatus::Resolved,
            ignore_count: None,
        });
        assert!(i.record(&grouping(), &event("1.0"), false));
        assert_eq!(i.status, IssueStatus::Unresolved);
        assert!(i.regressed);
        i.set_status(&StatusChange {
            status: IssueStatus::Unresolved,
            ignore_count: None,
        });
        assert!(!i.regressed);
    }

    #[test]
    fn resolved_in_next_release_waits_for_another_release() {
        let mut i = issue();
        i.set_status(&StatusChange {
            status: IssueStatus::ResolvedInNextRelease,
            ignore_count: None,
        });
        assert!(!i.record(&grouping(), &event("1.0"), false));
        assert_eq!(i.status, IssueStatus::ResolvedInNextRelease);
        assert!(i.record(&grouping(), &event("1.1"), false));
        assert_eq!(i.status, IssueStatus::Unresolved);
    }

    #[test]
    fn ignored_until_n_more_events() {
        let mut i = issue();
        i.set_status(&StatusChange {
            status: IssueStatus::Ignored,
            ignore_count: Some(2),
        });
        i.record(&grouping(), &event("1.0"), false);
        assert_eq!(i.status, IssueStatus::Ignored);
        assert!(!i.record(&grouping(), &event("1.0"), false));
        assert_eq!(i.status, IssueStatus::Unresolved);
        assert!(!i.regressed);
    }
}
