//! A scrape target: its labels before and after `relabel_configs`, the URL
//! it is scraped at, its interval and timeout — built from a discovered
//! address as Prometheus's `PopulateLabels` does.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::ScrapeConfig;

use crate::model::{DurationError, PromDuration};
use crate::model::{Label, Labels};

use super::discovery::TargetGroup;
use crate::relabel::relabel;

pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const PARAM_PREFIX: &str = "__param_";
pub const JOB: &str = "job";
pub const INSTANCE: &str = "instance";

/// A target that survived relabeling.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub job: String,
    /// Labels before relabeling (with `__meta_*`), for the targets API.
    pub discovered: Labels,
    /// The labels every series of this target gets.
    pub labels: Labels,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// Identity across config reloads and discovery updates: a target with
    /// the same labels and URL is the same target and keeps running.
    pub fn key(&self) -> (Labels, String) {
        (self.labels.clone(), self.url.clone())
    }

    /// Hash used to spread scrape start times over the interval.
    pub fn offset_seed(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&self.labels.stable_hash().to_le_bytes());
        h.update(self.url.as_bytes());
        h.digest()
    }
}

/// What became of one discovered address.
#[derive(Clone, Debug, PartialEq)]
pub enum Populated {
    Active(Target),
    /// Dropped by relabeling; its discovered labels are kept for the API.
    Dropped(Labels),
}

/// `url::ParseError`, named through reqwest, which does not re-export it.
type UrlParseError = <reqwest::Url as std::str::FromStr>::Err;

/// Why a discovered address cannot become a target (after relabeling);
/// Prometheus skips such a target and logs the reason.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{0:?} is not a valid target address (host:port expected)")]
    AddressWithPath(String),
    #[error("invalid target address {address:?}: {source}")]
    Address {
        address: String,
        #[source]
        source: UrlParseError,
    },
    #[error("error parsing {label} label: {source}")]
    Duration {
        label: &'static str,
        #[source]
        source: DurationError,
    },
    #[error("scrape interval cannot be 0")]
    ZeroInterval,
    #[error("scrape timeout cannot be 0")]
    ZeroTimeout,
    #[error("scrape timeout cannot be greater than scrape interval ({timeout} > {interval})")]
    TimeoutOverInterval {
        timeout: PromDuration,
        interval: PromDuration,
    },
    #[error("invalid scheme {0:?} (http or https expected)")]
    Scheme(String),
}

/// Builds a target from one address of a group.
pub fn populate(group: &TargetGroup, address: &str, job: &ScrapeConfig) -> Result<Populated, TargetError> {
    let mut base: Vec<Label> = group
        .labels
        .iter()
        .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
        .collect();
    base.push(Label::new(ADDRESS, address));
    let mut discovered = Labels::new(base).builder();
    let defaults = [
        (JOB, job.job_name.clone()),
        (SCHEME, job.scheme.as_str().to_string()),
        (METRICS_PATH, job.metrics_path.clone()),
        (SCRAPE_INTERVAL, job.scrape_interval.to_string()),
        (SCRAPE_TIMEOUT, job.scrape_timeout.to_string()),
    ];
    for (name, value) in defaults {
        if discovered.get(name).is_none_or(str::is_empty) {
            discovered.set(name, &value);
        }
    }
    for (name, values) in &job.params {
        let label = format!("{PARAM_PREFIX}{name}");
        if let Some(first) = values.first()
            && discovered.get(&label).is_none_or(str::is_empty)
        {
            discovered.set(&label, first);
        }
    }
    let discovered = discovered.build();

    let Some(relabeled) = relabel(&discovered, &job.relabel_configs) else {
        return Ok(Populated::Dropped(discovered));
    };
    let address = match relabeled.get(ADDRESS) {
        Some(a) if !a.is_empty() => a.to_string(),
        // Prometheus drops a target whose relabeling removed the address.
        _ => return Ok(Populated::Dropped(discovered)),
    };
    if address.contains('/') {
        return Err(TargetError::AddressWithPath(address));
    }
    let interval = parse_duration_label(&relabeled, SCRAPE_INTERVAL)?;
    let timeout = parse_duration_label(&relabeled, SCRAPE_TIMEOUT)?;
    if interval.is_zero() {
        return Err(TargetError::ZeroInterval);
    }
    if timeout.is_zero() {
        return Err(TargetError::ZeroTimeout);
    }
    if timeout > interval {
        return Err(TargetError::TimeoutOverInterval {
            timeout: PromDuration(timeout),
            interval: PromDuration(interval),
        });
    }
    let url = scrape_url(&relabeled, &address, job)?;

    let mut out = relabeled.builder();
    out.retain(|l| !l.name.starts_with("__"));
    if out.get(INSTANCE).is_none_or(str::is_empty) {
        out.set(INSTANCE, &address);
    }
    Ok(Populated::Active(Target {
        job: job.job_name.clone(),
        discovered,
        labels: out.build(),
        url,
        interval,
        timeout,
    }))
}

fn parse_duration_label(labels: &Labels, name: &'static str) -> Result<Duration, TargetError> {
    let text = labels.get(name).unwrap_or("");
    PromDuration::parse(text)
        .map(|d| d.0)
        .map_err(|source| TargetError::Duration { label: name, source })
}

/// `scheme://address/path?params`, where `__param_<name>` labels override
/// the first value of the configured parameter `<name>`.
fn scrape_url(labels: &Labels, address: &str, job: &ScrapeConfig) -> Result<String, TargetError> {
    let scheme = labels.get(SCHEME).unwrap_or("http");
    if scheme != "http" && scheme != "https" {
        return Err(TargetError::Scheme(scheme.to_string()));
    }
    let path = labels.get(METRICS_PATH).unwrap_or("/metrics");
    let mut params: BTreeMap<String, Vec<String>> = job.params.clone();
    for l in labels.iter() {
        if let Some(name) = l.name.strip_prefix(PARAM_PREFIX) {
            match params.get_mut(name) {
                Some(values) if !values.is_empty() => values[0] = l.value.clone(),
                _ => {
                    params.insert(name.to_string(), vec![l.value.clone()]);
                }
            }
        }
    }
    let mut url =
        reqwest::Url::parse(&format!("{scheme}://{address}")).map_err(|source| TargetError::Address {
            address: address.to_string(),
            source,
        })?;
    url.set_path(path);
    if !params.is_empty() {
        let mut q = url.query_pairs_mut();
        for (name, values) in &params {
            for v in values {
                q.append_pair(name, v);
            }
        }
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn job(yaml: &str) -> ScrapeConfig {
        Config::from_yaml_with_env(yaml, "t.yml", |_| None)
            .unwrap()
            .scrape_configs
            .remove(0)
    }

    fn group(labels: &[(&str, &str)]) -> TargetGroup {
        TargetGroup {
            source: "static/0".into(),
            targets: vec![],
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn defaults_become_labels_and_instance_defaults_to_address() {
        let j = job(
            "scrape_configs:\n  - job_name: node\n    scrape_interval: 15s\n    params: {module: [a, b]}\n",
        );
        let Populated::Active(t) = populate(&group(&[("env", "prod")]), "h1:9100", &j).unwrap() else {
            panic!("dropped")
        };
        assert_eq!(
            t.labels,
            Labels::from_pairs(&[("env", "prod"), ("instance", "h1:9100"), ("job", "node")])
        );
        assert_eq!(t.discovered.get(SCRAPE_INTERVAL), Some("15s"));
        assert_eq!(t.discovered.get("__param_module"), Some("a"));
        assert_eq!(t.url, "http://h1:9100/metrics?module=a&module=b");
        assert_eq!(t.interval, Duration::from_secs(15));
        assert_eq!(t.timeout, Duration::from_secs(10));
    }

    #[test]
    fn relabeling_can_rewrite_url_parts_and_interval() {
        let j = job(
            "scrape_configs:\n  - job_name: probe\n    metrics_path: /probe\n    relabel_configs:\n\
             \x20     - {source_labels: [__address__], target_label: __param_target}\n\
             \x20     - {target_label: __address__, replacement: 'exporter:9115'}\n\
             \x20     - {target_label: __scheme__, replacement: https}\n\
             \x20     - {target_label: __scrape_interval__, replacement: 30s}\n\
             \x20     - {source_labels: [__param_target], target_label: instance}\n",
        );
        let Populated::Active(t) = populate(&group(&[]), "lms.example:443", &j).unwrap() else {
            panic!("dropped")
        };
        assert_eq!(t.url, "https://exporter:9115/probe?target=lms.example%3A443");
        assert_eq!(t.labels.get("instance"), Some("lms.example:443"));
        assert_eq!(t.interval, Duration::from_secs(30));
    }

    #[test]
    fn dropped_targets_keep_discovered_labels() {
        let j = job(
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {source_labels: [env], regex: prod, action: keep}\n",
        );
        match populate(&group(&[("env", "dev")]), "h:1", &j).unwrap() {
            Populated::Dropped(d) => assert_eq!(d.get("env"), Some("dev")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_relabeled_values_are_errors() {
        let j = job(
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {target_label: __scrape_timeout__, replacement: 2m}\n",
        );
        assert!(
            populate(&group(&[]), "h:1", &j)
                .unwrap_err()
                .to_string()
                .contains("greater than scrape interval")
        );
    }
}
