//! The issue list's filters and order, as the API's parameters give them.

use super::{Issue, IssueSearch, IssueStatus};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IssueSort {
    #[default]
    LastSeen,
    Count,
    Users,
    FirstSeen,
}

impl IssueSort {
    pub fn parse(s: &str) -> Option<IssueSort> {
        Some(match s {
            "last_seen" | "date" => IssueSort::LastSeen,
            "count" | "freq" => IssueSort::Count,
            "users" | "user" => IssueSort::Users,
            "first_seen" | "new" => IssueSort::FirstSeen,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct IssueQuery {
    pub project: Option<u64>,
    pub status: Option<IssueStatus>,
    pub level: Option<String>,
    /// Matches an issue first or last seen in this release.
    pub release: Option<String>,
    pub environment: Option<String>,
    /// The `query`: words in the title or culprit, `tag:value` pieces.
    pub search: IssueSearch,
    pub sort: IssueSort,
}

impl IssueQuery {
    pub fn matches(&self, issue: &Issue) -> bool {
        if self.project.is_some_and(|p| p != issue.project)
            || self.status.is_some_and(|s| s != issue.status)
            || self.level.as_ref().is_some_and(|l| *l != issue.level)
        {
            return false;
        }
        if let Some(r) = &self.release
            && issue.first_release.as_ref() != Some(r)
            && issue.last_release.as_ref() != Some(r)
        {
            return false;
        }
        if let Some(env) = &self.environment
            && !issue.environments.iter().any(|e| e == env)
        {
            return false;
        }
        if !self.search.matches(issue) {
            return false;
        }
        true
    }

    /// Largest first; ties by id, newest first.
    pub fn sort(&self, issues: &mut [Issue]) {
        let key = |i: &Issue| match self.sort {
            IssueSort::LastSeen => i.last_seen,
            IssueSort::FirstSeen => i.first_seen,
            IssueSort::Count => i.count as f64,
            IssueSort::Users => i.user_count as f64,
        };
        issues.sort_by(|a, b| key(b).total_cmp(&key(a)).then(b.id.cmp(&a.id)));
    }
}
