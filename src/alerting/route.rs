//! The compiled routing tree: which routes an alert goes to (depth first,
//! first match wins unless `continue`), and the labels it is grouped by.
//! Unset fields are inherited from the parent, as in Alertmanager.

use std::time::Duration;

use crate::config::alerting::RouteConfig;
use crate::config::alerting::{DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL};
use crate::model::{Label, Labels, MatchOp, Matcher, MatcherError, MatcherSyntaxError};
use crate::model::{matches_all, parse_matchers};

#[derive(Clone, Debug, PartialEq)]
pub enum GroupBy {
    /// `group_by: ['...']`: every label.
    All,
    Labels(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Route {
    /// Path from the root, e.g. `{}/{severity="page"}/0`; part of group keys.
    pub key: String,
    pub receiver: String,
    pub group_by: GroupBy,
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub routes: Vec<Route>,
}

/// Why a routing tree cannot be built from its (already validated)
/// configuration: a matcher that does not compile.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Matchers(#[from] MatcherSyntaxError),
    #[error(transparent)]
    Matcher(#[from] MatcherError),
}

impl Route {
    /// Compiles a validated root route.
    pub fn build(cfg: &RouteConfig) -> Result<Route, RouteError> {
        let root = Route {
            key: String::new(),
            receiver: cfg.receiver.clone().unwrap_or_default(),
            group_by: GroupBy::Labels(Vec::new()),
            matchers: Vec::new(),
            continue_matching: false,
            group_wait: DEFAULT_GROUP_WAIT.as_duration(),
            group_interval: DEFAULT_GROUP_INTERVAL.as_duration(),
            repeat_interval: DEFAULT_REPEAT_INTERVAL.as_duration(),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            routes: Vec::new(),
        };
        Route::child(cfg, &root, None, 0)
    }

    fn child(
        cfg: &RouteConfig,
        parent: &Route,
        parent_key: Option<&str>,
        index: usize,
    ) -> Result<Route, RouteError> {
        let mut matchers = Vec::new();
        for m in &cfg.matchers {
            matchers.extend(parse_matchers(m)?);
        }
        for (n, v) in &cfg.match_eq {
            matchers.push(Matcher::equal(n, v));
        }
        for (n, v) in &cfg.match_re {
            matchers.push(Matcher::new(MatchOp::Regex, n, v)?);
        }
        let matcher_text = format!(
            "{{{}}}",
            matchers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let key = match parent_key {
            None => matcher_text,
            Some(p) => format!("{p}/{matcher_text}/{index}"),
        };
        let group_by = match &cfg.group_by {
            None => parent.group_by.clone(),
            Some(g) if g.iter().any(|n| n == "...") => GroupBy::All,
            Some(g) => {
                let mut names = g.clone();
                names.sort();
                GroupBy::Labels(names)
            }
        };
        let mut route = Route {
            key,
            receiver: cfg.receiver.clone().unwrap_or_else(|| parent.receiver.clone()),
            group_by,
            matchers,
            continue_matching: cfg.continue_matching,
            group_wait: cfg.group_wait.map_or(parent.group_wait, |d| d.as_duration()),
            group_interval: cfg
                .group_interval
                .map_or(parent.group_interval, |d| d.as_duration()),
            repeat_interval: cfg
                .repeat_interval
                .map_or(parent.repeat_interval, |d| d.as_duration()),
            mute_time_intervals: cfg.mute_time_intervals.clone(),
            active_time_intervals: cfg.active_time_intervals.clone(),
            routes: Vec::new(),
        };
        let key = route.key.clone();
        route.routes = cfg
            .routes
            .iter()
            .enumerate()
            .map(|(i, c)| Route::child(c, &route, Some(&key), i))
            .collect::<Result<_, _>>()?;
        Ok(route)
    }

    /// The routes an alert with `labels` is delivered through.
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        let mut out = Vec::new();
        self.collect(labels, &mut out);
        out
    }

    fn collect<'a>(&'a self, labels: &Labels, out: &mut Vec<&'a Route>) -> bool {
        if !matches_all(&self.matchers, labels) {
            return false;
        }
        let before = out.len();
        for child in &self.routes {
            if child.collect(labels, out) && !child.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// The labels that pick the alert's aggregation group on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => Labels::from_sorted_unchecked(
                names
                    .iter()
                    .filter_map(|n| labels.get(n).map(|v| Label::new(n.clone(), v)))
                    .collect(),
            ),
        }
    }

    /// Visits every route, root first.
    pub fn walk(&self, f: &mut impl FnMut(&Route)) {
        f(self);
        for r in &self.routes {
            r.walk(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(yaml: &str) -> Route {
        let cfg: RouteConfig = serde_norway::from_str(yaml).unwrap();
        Route::build(&cfg).unwrap()
    }

    fn receivers(r: &Route, labels: &[(&str, &str)]) -> Vec<String> {
        r.matching(&Labels::from_pairs(labels))
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    }

    const TREE: &str = r#"
receiver: default
group_by: [alertname]
group_wait: 10s
routes:
  - matchers: ['severity="page"']
    receiver: pager
    continue: true
    routes:
      - matchers: ['team=~"db|cache"']
        receiver: db-pager
  - match: {severity: page}
    receiver: email
    group_by: ['...']
    repeat_interval: 1h
  - match_re: {service: "lms-.*"}
    receiver: lms
"#;

    #[test]
    fn first_match_wins_unless_continue() {
        let t = tree(TREE);
        assert_eq!(receivers(&t, &[("severity", "page")]), ["pager", "email"]);
        assert_eq!(
            receivers(&t, &[("severity", "page"), ("team", "db")]),
            ["db-pager", "email"]
        );
        assert_eq!(receivers(&t, &[("service", "lms-api")]), ["lms"]);
        assert_eq!(receivers(&t, &[("service", "other")]), ["default"]);
    }

    #[test]
    fn children_inherit_and_group() {
        let t = tree(TREE);
        let labels = Labels::from_pairs(&[("alertname", "A"), ("severity", "page"), ("x", "1")]);
        let routes = t.matching(&labels);
        assert_eq!(routes[0].group_wait, Duration::from_secs(10));
        assert_eq!(
            routes[0].group_labels(&labels),
            Labels::from_pairs(&[("alertname", "A")])
        );
        assert_eq!(routes[1].group_labels(&labels), labels);
        assert_eq!(routes[1].repeat_interval, Duration::from_secs(3600));
        assert_eq!(routes[0].group_interval, Duration::from_secs(300));
        assert_ne!(routes[0].key, routes[1].key);
    }
}
