//! Rule files in Prometheus's format: their serde shape, validation as
//! Prometheus's `rulefmt` does it (plus type-checking expressions and
//! parsing templates), and errors located as `FILE:LINE:COLUMN`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::{FileError, FileKind, is_blank_yaml, yaml_error};

use crate::model::Labels;
use crate::model::{PromDuration, is_legacy_label_name, is_legacy_metric_name};

use super::builtin::{builtin_entry, builtin_path, builtin_text};
use super::error::RuleError;
use super::language::QueryLanguage;
use super::locate::{self, Fault, Place};
use crate::template::Template;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileYaml {
    #[serde(default)]
    groups: Vec<GroupYaml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupYaml {
    #[serde(default)]
    name: String,
    /// The rules' query language: `promql` (the default) or `logql`.
    #[serde(default, rename = "type")]
    language: Option<String>,
    #[serde(default)]
    interval: Option<PromDuration>,
    #[serde(default)]
    query_offset: Option<PromDuration>,
    #[serde(default)]
    limit: usize,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<RuleYaml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleYaml {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<PromDuration>,
    #[serde(default)]
    keep_firing_for: Option<PromDuration>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

const GROUP_KEYS: &[&str] = &[
    "name",
    "type",
    "interval",
    "query_offset",
    "limit",
    "labels",
    "rules",
];
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// One rule file, validated.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: String,
    pub groups: Vec<GroupSpec>,
}

#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub file: String,
    pub interval: Option<Duration>,
    pub query_offset: Option<Duration>,
    /// Most series (recording) or alerts (alerting) one rule may produce; 0 = none.
    pub limit: usize,
    pub labels: Labels,
    /// What the rules' expressions are written in.
    pub language: QueryLanguage,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub expr: String,
    /// Label name → template source (recording rules use them verbatim).
    pub labels: Vec<(String, String)>,
    /// Where the rule starts in its file (1-based), for messages.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum RuleKind {
    Recording {
        record: String,
    },
    Alerting {
        alert: String,
        hold: Duration,
        keep_firing_for: Duration,
        annotations: Vec<(String, String)>,
    },
}

impl RuleSpec {
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// How strictly to read rule files.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// Skip keys Prometheus does not know instead of refusing the file
    /// (promtool's `--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
}

/// Reads and validates one rule file.
pub fn load_file(path: &Path, opts: ParseOptions) -> Result<RuleFile, RuleError> {
    if let Some(text) = builtin_text(path) {
        return parse_rules(text, &path.display().to_string(), opts);
    }
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        kind: FileKind::Rule,
        path: path.display().to_string(),
        source,
    })?;
    parse_rules(&text, &path.display().to_string(), opts)
}

/// Parses and validates rule-file text; `origin` names it in errors.
pub fn parse_rules(text: &str, origin: &str, opts: ParseOptions) -> Result<RuleFile, RuleError> {
    let raw: FileYaml = if is_blank_yaml(text) {
        FileYaml { groups: Vec::new() }
    } else if opts.ignore_unknown_fields {
        let mut v: serde_norway::Value = serde_norway::from_str(text).map_err(|e| yaml_error(origin, &e))?;
        strip_unknown(&mut v);
        // Round-trip through text so scalars read as strings (`expr: 1`) as
        // they do when parsing the file directly.
        let cleaned = serde_norway::to_string(&v).map_err(|e| FileError::Invalid {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        serde_norway::from_str(&cleaned).map_err(|e| FileError::Invalid {
            origin: origin.to_string(),
            message: e.to_string(),
        })?
    } else {
        serde_norway::from_str(text).map_err(|e| yaml_error(origin, &e))?
    };
    let rule_sites = locate::rule_sites(text);
    let group_lines = group_lines(text);
    let mut groups = Vec::with_capacity(raw.groups.len());
    let mut seen = HashSet::new();
    let mut rule_index = 0usize;
    for (gi, g) in raw.groups.into_iter().enumerate() {
        let gline = group_lines.get(gi).copied().unwrap_or(1);
        let at = |line: usize, message: String| {
            RuleError::from(FileError::At {
                origin: origin.to_string(),
                line,
                column: 1,
                message,
            })
        };
        if g.name.is_empty() {
            return Err(at(gline, "groupname must not be empty".into()));
        }
        if !seen.insert(g.name.clone()) {
            return Err(at(
                gline,
                format!("groupname: {:?} is repeated in the same file", g.name),
            ));
        }
        for k in g.labels.keys() {
            if !is_legacy_label_name(k) {
                return Err(at(
                    gline,
                    format!("group {:?}: invalid label name: {k:?}", g.name),
                ));
            }
        }
        let language = match g.language.as_deref() {
            None => QueryLanguage::default(),
            Some(t) => QueryLanguage::from_group_type(t)
                .map_err(|m| at(gline, format!("group {:?}: type: {m}", g.name)))?,
        };
        let mut rules = Vec::with_capacity(g.rules.len());
        for (ri, r) in g.rules.into_iter().enumerate() {
            let site = rule_sites.get(rule_index);
            rule_index += 1;
            let line = site.map_or(gline, |s| s.line);
            let rule = validate_rule(r, line, language).map_err(|fault| {
                let (line, column) = fault.place(site).unwrap_or((line, 1));
                FileError::At {
                    origin: origin.to_string(),
                    line,
                    column,
                    message: format!("group {:?}, rule {}, {}", g.name, ri + 1, fault.message),
                }
            })?;
            rules.push(rule);
        }
        groups.push(GroupSpec {
            name: g.name,
            file: origin.to_string(),
            interval: g.interval.filter(|d| !d.is_zero()).map(|d| d.as_duration()),
            query_offset: g.query_offset.map(|d| d.as_duration()),
            limit: g.limit,
            labels: Labels::new(
                g.labels
                    .into_iter()
                    .map(|(k, v)| crate::model::Label::new(k, v))
                    .collect(),
            ),
            language,
            rules,
        });
    }
    Ok(RuleFile {
        path: origin.to_string(),
        groups,
    })
}

fn validate_rule(r: RuleYaml, line: usize, language: QueryLanguage) -> Result<RuleSpec, Fault> {
    let name = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => return Err(Fault::rule("only one of 'record' and 'alert' must be set")),
        (None, None) => return Err(Fault::rule("one of 'record' or 'alert' must be set")),
        (Some(n), None) | (None, Some(n)) => n.clone(),
    };
    let quoted = format!("{name:?}");
    let err = |m: String| Fault::rule(format!("{quoted}: {m}"));
    let at_expr = |m: String, line: usize, column: usize| Fault {
        message: format!("{quoted}: {m}"),
        place: Place::Expr { line, column },
    };
    let at_key = |m: String, section: &'static str, key: &str| Fault {
        message: format!("{quoted}: {m}"),
        place: Place::Key {
            section,
            key: key.to_string(),
        },
    };
    if name.is_empty() {
        return Err(Fault::rule(if r.record.is_some() {
            "field 'record' must be set in rule"
        } else {
            "field 'alert' must be set in rule"
        }));
    }
    if r.expr.trim().is_empty() {
        return Err(err("field 'expr' must be set in rule".into()));
    }
    language
        .check_expr(&r.expr)
        .map_err(|f| at_expr(f.message, f.line, f.column))?;
    for (k, v) in &r.labels {
        if !is_legacy_label_name(k) || k == "__name__" {
            return Err(at_key(format!("invalid label name: {k:?}"), "labels", k));
        }
        if r.alert.is_some() {
            Template::parse(v).map_err(|e| at_key(format!("label {k:?}: {e}"), "labels", k))?;
        }
    }
    let labels: Vec<(String, String)> = r.labels.into_iter().collect();
    let kind = if let Some(record) = r.record {
        if !r.annotations.is_empty() {
            return Err(err("invalid field 'annotations' in recording rule".into()));
        }
        if r.for_.is_some() {
            return Err(err("invalid field 'for' in recording rule".into()));
        }
        if r.keep_firing_for.is_some() {
            return Err(err("invalid field 'keep_firing_for' in recording rule".into()));
        }
        if !is_legacy_metric_name(&record) {
            return Err(err(format!("invalid recording rule name: {record}")));
        }
        RuleKind::Recording { record }
    } else {
        for (k, v) in &r.annotations {
            if !is_legacy_label_name(k) {
                return Err(at_key(
                    format!("invalid annotation name: {k:?}"),
                    "annotations",
                    k,
                ));
            }
            Template::parse(v).map_err(|e| at_key(format!("annotation {k:?}: {e}"), "annotations", k))?;
        }
        RuleKind::Alerting {
            alert: name,
            hold: r.for_.map(|d| d.as_duration()).unwrap_or_default(),
            keep_firing_for: r.keep_firing_for.map(|d| d.as_duration()).unwrap_or_default(),
            annotations: r.annotations.into_iter().collect(),
        }
    };
    Ok(RuleSpec {
        kind,
        expr: r.expr,
        labels,
        line,
    })
}

/// Drops keys Prometheus's rule format does not have (for
/// `--ignore-unknown-fields`).
fn strip_unknown(v: &mut serde_norway::Value) {
    let serde_norway::Value::Mapping(root) = v else {
        return;
    };
    root.retain(|k, _| k.as_str() == Some("groups"));
    let Some(serde_norway::Value::Sequence(groups)) = root.get_mut("groups") else {
        return;
    };
    for g in groups {
        let serde_norway::Value::Mapping(gm) = g else {
            continue;
        };
        gm.retain(|k, _| k.as_str().is_some_and(|k| GROUP_KEYS.contains(&k)));
        let Some(serde_norway::Value::Sequence(rules)) = gm.get_mut("rules") else {
            continue;
        };
        for r in rules {
            if let serde_norway::Value::Mapping(rm) = r {
                rm.retain(|k, _| k.as_str().is_some_and(|k| RULE_KEYS.contains(&k)));
            }
        }
    }
}

/// 1-based lines of each group's `name:` key.
fn group_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("- name:") || l.trim_start().starts_with("name:"))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Expands `rule_files` globs (sorted, deduplicated). A pattern that
/// matches nothing is not an error, as in Prometheus; a `builtin:NAME`
/// entry yields the pack's pseudo-path, or an error for an unknown name.
pub fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>, RuleError> {
    let mut out = Vec::new();
    for p in patterns {
        if let Some(name) = builtin_entry(p) {
            let path = builtin_path(name?);
            if !out.contains(&path) {
                out.push(path);
            }
            continue;
        }
        let paths = glob::glob(p).map_err(|source| RuleError::Glob {
            pattern: p.clone(),
            source,
        })?;
        for entry in paths.flatten() {
            if entry.is_file() && !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleFile, RuleError> {
        parse_rules(text, "r.yml", ParseOptions::default())
    }

    #[test]
    fn reads_groups_and_rules() {
        let f = parse(
            "groups:\n- name: g\n  interval: 30s\n  limit: 10\n  query_offset: 1m\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.job }} down'}\n",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.interval, Some(Duration::from_secs(30)));
        assert_eq!(g.query_offset, Some(Duration::from_secs(60)));
        assert_eq!(g.limit, 10);
        assert_eq!(g.rules[0].name(), "job:up:sum");
        assert_eq!(g.rules[1].line, 9);
        let RuleKind::Alerting {
            hold,
            keep_firing_for,
            ..
        } = &g.rules[1].kind
        else {
            panic!()
        };
        assert_eq!(
            (*hold, *keep_firing_for),
            (Duration::from_secs(300), Duration::from_secs(60))
        );
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let cases = [
            (
                "groups:\n- name: g\n  rules:\n  - record: x\n    expr: 'sum('\n",
                "r.yml:5:16: group \"g\", rule 1, \"x\": could not parse expression: 1:5: parse error",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ $labels.x '\n",
                "r.yml:7:7: group \"g\", rule 1, \"A\": annotation \"s\": template",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    for: 1m\n",
                "invalid field 'for' in recording rule",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - record: 'bad name'\n    expr: up\n",
                "invalid recording rule name",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up[5m]\n",
                "r.yml:5:11: group \"g\", rule 1, \"x\": expression must evaluate to an instant vector or scalar",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - alert: A\n    labels: {team: a}\n    expr: |\n      sum by (job) (\n        rate(x[5m]\n      > 1\n    for: 5m\n",
                "r.yml:9:10: group \"g\", rule 1, \"A\": could not parse expression: 4:1: parse error: unclosed left parenthesis",
            ),
            (
                "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n",
                "r.yml:4:1: groupname: \"g\" is repeated",
            ),
            (
                "groups:\n- name: g\n  owner: me\n  rules: []\n",
                "r.yml:3:3: groups[0]: unknown field `owner`",
            ),
            (
                "groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: up\n",
                "only one of 'record' and 'alert'",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "want {want:?} in {err:?}");
        }
    }

    #[test]
    fn unknown_fields_can_be_ignored() {
        let text = "groups:\n- name: g\n  owner: me\n  rules:\n  - record: x\n    expr: up\n    team: a\n";
        assert!(parse(text).is_err());
        let f = parse_rules(
            text,
            "r.yml",
            ParseOptions {
                ignore_unknown_fields: true,
            },
        )
        .unwrap();
        assert_eq!(f.groups[0].rules.len(), 1);
    }
}
