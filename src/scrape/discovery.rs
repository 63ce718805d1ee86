//! Service discovery: target groups from `static_configs` and from
//! `file_sd_configs` (JSON or YAML files named by globs, re-read when their
//! modification time changes and at `refresh_interval`). A file that fails
//! to read or parse keeps its last good targets; each failure is counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::config::{FileSdConfig, ScrapeConfig, StaticConfig, validate_group};
use crate::selfmetrics::Counter;

/// The label file discovery sets to the file a target came from.
pub const META_FILEPATH: &str = "__meta_filepath";

/// Targets (addresses) sharing a set of labels, from one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Where the group came from, e.g. `static/0` or `/etc/sd/a.json:2`.
    pub source: String,
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// The groups of a job's `static_configs`.
pub fn static_groups(job: &ScrapeConfig) -> Vec<TargetGroup> {
    job.static_configs
        .iter()
        .enumerate()
        .map(|(i, sc)| TargetGroup {
            source: format!("static/{i}"),
            targets: sc.targets.clone(),
            labels: sc.labels.clone(),
        })
        .collect()
}

/// How often file mtimes are checked between full refreshes.
pub const FILE_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// One `file_sd_configs` entry and what its files last said.
pub struct FileDiscovery {
    cfg: FileSdConfig,
    files: BTreeMap<PathBuf, FileState>,
    last_full_refresh: Option<Instant>,
    read_errors: Arc<Counter>,
}

struct FileState {
    stamp: Option<(SystemTime, u64)>,
    groups: Vec<TargetGroup>,
}

/// A group as written in a JSON target file (unknown keys are ignored,
/// as Prometheus's JSON decoding does).
#[derive(Deserialize)]
struct JsonGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

impl FileDiscovery {
    pub fn new(cfg: FileSdConfig, read_errors: Arc<Counter>) -> Self {
        FileDiscovery {
            cfg,
            files: BTreeMap::new(),
            last_full_refresh: None,
            read_errors,
        }
    }

    /// Re-reads files that are new or changed (all files when the refresh
    /// interval has passed) and forgets files no glob matches any more.
    /// Blocking file I/O: call it off the async executor. Returns whether
    /// the discovered groups changed.
    pub fn refresh(&mut self) -> bool {
        let full = self
            .last_full_refresh
            .is_none_or(|t| t.elapsed() >= self.cfg.refresh_interval.as_duration());
        if full {
            self.last_full_refresh = Some(Instant::now());
        }
        let paths = self.matching_paths();
        let before = self.groups();
        self.files.retain(|p, _| paths.contains(p));
        for path in paths {
            let stamp = file_stamp(&path);
            let unchanged = self
                .files
                .get(&path)
                .is_some_and(|s| s.stamp == stamp && stamp.is_some());
            if unchanged && !full {
                continue;
            }
            match read_groups(&path) {
                Ok(groups) => {
                    self.files.insert(path, FileState { stamp, groups });
                }
                Err(error) => {
                    self.read_errors.inc();
                    tracing::warn!(file = %path.display(), %error, "target file refused; keeping its last good targets");
                    // Remember the stamp so a broken file is not re-read (and
                    // re-reported) every poll until it changes again.
                    let state = self.files.entry(path).or_insert(FileState {
                        stamp: None,
                        groups: Vec::new(),
                    });
                    state.stamp = stamp;
                }
            }
        }
        self.groups() != before
    }

    pub fn groups(&self) -> Vec<TargetGroup> {
        self.files
            .values()
            .flat_map(|s| s.groups.iter().cloned())
            .collect()
    }

    fn matching_paths(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for pattern in &self.cfg.files {
            match glob::glob(pattern) {
                Ok(paths) => out.extend(paths.filter_map(Result::ok).filter(|p| p.is_file())),
                Err(e) => {
                    self.read_errors.inc();
                    tracing::warn!(pattern, "file discovery: invalid glob: {e}");
                }
            }
        }
        out
    }
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Why a target file was not taken (its targets stay as they were).
#[derive(Debug, thiserror::Error)]
pub enum TargetFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON in {file}: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid YAML in {file}: {source}")]
    Yaml {
        file: String,
        #[source]
        source: serde_norway::Error,
    },
    /// A group whose targets or labels are invalid; `problem` is the
    /// validation's own words.
    #[error("{file}: group {index}: {problem}")]
    Group {
        file: String,
        index: usize,
        problem: String,
    },
}

/// Reads one target file; JSON or YAML by extension.
pub fn read_groups(path: &Path) -> Result<Vec<TargetGroup>, TargetFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse_groups(&text, &path.display().to_string(), is_json)
}

/// Parses the text of target file `file` (named in errors and in
/// `__meta_filepath`), JSON or YAML.
pub fn parse_groups(text: &str, file: &str, is_json: bool) -> Result<Vec<TargetGroup>, TargetFileError> {
    let raw: Vec<(Vec<String>, BTreeMap<String, String>)> = if is_json {
        serde_json::from_str::<Option<Vec<JsonGroup>>>(text)
            .map_err(|source| TargetFileError::Json {
                file: file.to_string(),
                source,
            })?
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g.targets, g.labels))
            .collect()
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_norway::from_str::<Option<Vec<StaticConfig>>>(text)
            .map_err(|source| TargetFileError::Yaml {
                file: file.to_string(),
                source,
            })?
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g.targets, g.labels))
            .collect()
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, (targets, mut labels))| {
            validate_group(&targets, &labels).map_err(|e| TargetFileError::Group {
                file: file.to_string(),
                index: i,
                problem: e.to_string(),
            })?;
            labels.insert(META_FILEPATH.to_string(), file.to_string());
            Ok(TargetGroup {
                source: format!("{file}:{i}"),
                targets,
                labels,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PromDuration;

    fn discovery(dir: &Path) -> (FileDiscovery, Arc<Counter>) {
        let errors = Arc::new(Counter::default());
        let cfg = FileSdConfig {
            files: vec![
                dir.join("*.json").display().to_string(),
                dir.join("*.yml").display().to_string(),
            ],
            refresh_interval: PromDuration::from_secs(300),
        };
        (FileDiscovery::new(cfg, errors.clone()), errors)
    }

    #[test]
    fn reads_json_and_yaml_and_follows_changes() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        std::fs::write(
            &json,
            r#"[{"targets": ["h1:9100"], "labels": {"env": "prod"}, "extra": 1}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.yml"), "- targets: ['h2:9100']\n").unwrap();
        let (mut sd, errors) = discovery(dir.path());
        assert!(sd.refresh());
        let groups = sd.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].targets, vec!["h1:9100".to_string()]);
        assert_eq!(groups[0].labels["env"], "prod");
        assert_eq!(groups[0].labels[META_FILEPATH], json.display().to_string());
        assert!(!sd.refresh(), "nothing changed");

        // A broken rewrite keeps the last good targets and is counted.
        std::fs::write(&json, "[{not json").unwrap();
        assert!(!sd.refresh());
        assert_eq!(errors.get(), 1);
        assert_eq!(sd.groups().len(), 2);

        std::fs::write(&json, r#"[{"targets": ["h1:9100", "h3:9100"]}]"#).unwrap();
        assert!(sd.refresh());
        assert_eq!(sd.groups()[0].targets.len(), 2);

        std::fs::remove_file(&json).unwrap();
        assert!(sd.refresh());
        assert_eq!(sd.groups().len(), 1);
    }

    #[test]
    fn invalid_groups_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yml");
        std::fs::write(&path, "- targets: ['h:1']\n  labels: {'bad-name': x}\n").unwrap();
        assert!(read_groups(&path).unwrap_err().to_string().contains("bad-name"));
        std::fs::write(&path, "- targets: ['h:1']\n  lables: {}\n").unwrap();
        assert!(
            read_groups(&path)
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
    }
}
