//! `route:`: the routing tree as Alertmanager writes it. Children inherit
//! unset fields from their parent when the tree is compiled
//! (`crate::alerting::route`).

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::Invalid;
use crate::model::parse_matchers;
use crate::model::{PromDuration, is_legacy_label_name};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(default)]
    pub receiver: Option<String>,
    /// Label names to group by; `...` alone groups by all labels.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Alertmanager matcher strings, e.g. `severity=~"critical|page"`.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    #[serde(default)]
    pub group_wait: Option<PromDuration>,
    #[serde(default)]
    pub group_interval: Option<PromDuration>,
    #[serde(default)]
    pub repeat_interval: Option<PromDuration>,
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
}

pub const DEFAULT_GROUP_WAIT: PromDuration = PromDuration(std::time::Duration::from_secs(30));
pub const DEFAULT_GROUP_INTERVAL: PromDuration = PromDuration(std::time::Duration::from_secs(300));
pub const DEFAULT_REPEAT_INTERVAL: PromDuration = PromDuration(std::time::Duration::from_secs(4 * 3600));

impl RouteConfig {
    pub(super) fn validate_root(
        &mut self,
        receivers: &HashSet<String>,
        intervals: &HashSet<String>,
    ) -> Result<(), Invalid> {
        if self.receiver.as_deref().is_none_or(str::is_empty) {
            return Err(Invalid::near(
                "root route must specify a default receiver".into(),
                "route:",
            ));
        }
        if !self.matchers.is_empty() || !self.match_eq.is_empty() || !self.match_re.is_empty() {
            return Err(Invalid::near(
                "root route must not have any matchers".into(),
                "route:",
            ));
        }
        if !self.mute_time_intervals.is_empty() || !self.active_time_intervals.is_empty() {
            return Err(Invalid::near(
                "root route must not have any mute or active time intervals".into(),
                "route:",
            ));
        }
        self.group_wait.get_or_insert(DEFAULT_GROUP_WAIT);
        self.group_interval.get_or_insert(DEFAULT_GROUP_INTERVAL);
        self.repeat_interval.get_or_insert(DEFAULT_REPEAT_INTERVAL);
        self.validate(receivers, intervals)
    }

    fn validate(&self, receivers: &HashSet<String>, intervals: &HashSet<String>) -> Result<(), Invalid> {
        if let Some(r) = &self.receiver
            && !receivers.contains(r)
        {
            return Err(Invalid::near(
                format!("route uses receiver {r:?}, which is not defined in receivers"),
                &format!("receiver: {r}"),
            ));
        }
        if let Some(g) = &self.group_by {
            let all = g.iter().any(|n| n == "...");
            if all && g.len() > 1 {
                return Err(Invalid::near(
                    "group_by: cannot have wildcard `...` together with other labels".into(),
                    "group_by",
                ));
            }
            let mut seen = HashSet::new();
            for n in g.iter().filter(|n| *n != "...") {
                if !is_legacy_label_name(n) {
                    return Err(Invalid::near(
                        format!("group_by: {n:?} is not a valid label name"),
                        n,
                    ));
                }
                if !seen.insert(n) {
                    return Err(Invalid::near(format!("group_by: duplicated label {n:?}"), n));
                }
            }
        }
        for m in &self.matchers {
            parse_matchers(m).map_err(|e| Invalid::near(format!("route matchers: {e}"), m))?;
        }
        for (name, value) in &self.match_re {
            crate::model::Matcher::new(crate::model::MatchOp::Regex, name, value)
                .map_err(|e| Invalid::near(format!("route match_re: {e}"), value))?;
        }
        for (what, d) in [
            ("group_interval", self.group_interval),
            ("repeat_interval", self.repeat_interval),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                return Err(Invalid::near(format!("{what} cannot be zero"), what));
            }
        }
        for name in self.mute_time_intervals.iter().chain(&self.active_time_intervals) {
            if !intervals.contains(name) {
                return Err(Invalid::near(
                    format!(
                        "route references time interval {name:?}, which is not defined in time_intervals"
                    ),
                    name,
                ));
            }
        }
        for child in &self.routes {
            child.validate(receivers, intervals)?;
        }
        Ok(())
    }
}
