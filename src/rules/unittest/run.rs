//! Runs one test file the way promtool does: all groups evaluated every
//! `evaluation_interval` from the start time to the last `eval_time`,
//! firing alerts compared after the evaluation at or just before each
//! alert test's time, PromQL tests evaluated on the final data. Log lines
//! (`input_logs`) go into a logs store of the test's own, which LogQL
//! groups and `logql_expr_test` query.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use promql_parser::parser::{AtModifier, Expr, Offset};

use crate::model::{FloatHistogram, Label, Labels, compile_go_regex, is_stale_nan};
use crate::promql::{Engine, EngineOptions, QueryControl, Sample, Value};
use crate::selfmetrics::Registry;
use crate::tsdb::{MemStorage, Storage};

use super::super::alerting::AlertState;
use super::super::ast::walk;
use super::super::file::{GroupSpec, ParseOptions, load_file};
use super::super::group::Group;
use super::super::language::QueryLanguage;
use super::super::query::{EvalEnv, scalar_sample};
use super::super::rule::Rule;
use super::error::UnitTestError;
use super::format::{ExprTest, TestFile, TestGroup};
use super::histogram_notation::{histogram_notation, parse_histogram};
use super::input_logs::TestLogs;
use super::series::{SeriesValue, parse_metric, parse_values};
use super::{FileReport, TestOptions};

const DEFAULT_EVAL_INTERVAL: Duration = Duration::from_secs(60);

pub fn run_test_file(path: &Path, opts: &TestOptions) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        errors: Vec::new(),
        failures: Vec::new(),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.errors.push(format!("cannot read {}: {e}", path.display()));
            return report;
        }
    };
    let origin = path.display().to_string();
    let file: TestFile = match serde_norway::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            report
                .errors
                .push(crate::config::yaml_error(&origin, &e).to_string());
            return report;
        }
    };
    // promtool's `--run` takes Go's syntax, like the rules under test.
    let run_filters: Vec<regex::Regex> = match opts
        .run
        .iter()
        .map(|r| compile_go_regex(r).map_err(|e| format!("invalid --run pattern {r:?}: {e}")))
        .collect()
    {
        Ok(v) => v,
        Err(e) => {
            report.errors.push(e);
            return report;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut rule_paths: Vec<PathBuf> = Vec::new();
    for pattern in &file.rule_files {
        let full = dir.join(pattern);
        match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => {
                let mut found: Vec<PathBuf> = paths.flatten().collect();
                if found.is_empty() && !pattern.contains(['*', '?', '[']) {
                    found.push(full);
                }
                found.sort();
                rule_paths.extend(found);
            }
            Err(e) => report
                .errors
                .push(format!("rule_files: invalid pattern {pattern:?}: {e}")),
        }
    }
    let parse_opts = ParseOptions {
        ignore_unknown_fields: opts.ignore_unknown_fields,
    };
    let mut specs: Vec<GroupSpec> = Vec::new();
    for p in &rule_paths {
        match load_file(p, parse_opts) {
            Ok(f) => specs.extend(f.groups),
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    for spec in specs.iter().filter(|s| s.language == QueryLanguage::PromQL) {
        for r in &spec.rules {
            if let Err(e) = check_features(&r.expr, opts) {
                report.errors.push(format!(
                    "{}: group {:?}, rule {:?}: {e}",
                    spec.file,
                    spec.name,
                    r.name()
                ));
            }
        }
    }
    if !report.errors.is_empty() {
        return report;
    }
    if !file.group_eval_order.is_empty() {
        let order: HashMap<&str, usize> = file
            .group_eval_order
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        if let Some(missing) = specs.iter().find(|s| !order.contains_key(s.name.as_str())) {
            report.errors.push(format!(
                "group_eval_order: group {:?} is not listed (list every group or none)",
                missing.name
            ));
            return report;
        }
        specs.sort_by_key(|s| order[s.name.as_str()]);
    }
    let eval_interval = file
        .evaluation_interval
        .map(|d| d.as_duration())
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_EVAL_INTERVAL);
    for tg in &file.tests {
        if !run_filters.is_empty() && !run_filters.iter().any(|r| r.is_match(&tg.name)) {
            continue;
        }
        let msgs = run_group(tg, &specs, eval_interval, file.fuzzy_compare, opts);
        if !msgs.is_empty() {
            report.failures.push((tg.name.clone(), msgs));
        }
    }
    report
}

/// Refuses `@` and negative offsets unless enabled, as promtool does.
fn check_features(expr: &str, opts: &TestOptions) -> Result<(), UnitTestError> {
    let parsed = Engine::parse(expr)?;
    let (mut at, mut neg) = (false, false);
    walk(&parsed, &mut |e| {
        let (o, a) = match e {
            Expr::VectorSelector(v) => (&v.offset, &v.at),
            Expr::MatrixSelector(m) => (&m.vs.offset, &m.vs.at),
            Expr::Subquery(s) => (&s.offset, &s.at),
            _ => return,
        };
        neg |= matches!(o, Some(Offset::Neg(_)));
        at |= matches!(a, Some(AtModifier::At(_) | AtModifier::Start | AtModifier::End));
    });
    if at && !opts.enable_at_modifier {
        return Err(UnitTestError::AtModifierDisabled);
    }
    if neg && !opts.enable_negative_offset {
        return Err(UnitTestError::NegativeOffsetDisabled);
    }
    Ok(())
}

fn dur_string(ms: i64) -> String {
    crate::model::PromDuration(Duration::from_millis(ms.max(0) as u64)).to_string()
}

fn start_ms(tg: &TestGroup) -> Result<i64, UnitTestError> {
    let Some(s) = &tg.start_timestamp else {
        return Ok(0);
    };
    let text = s.0.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Ok((secs * 1000.0) as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|source| UnitTestError::StartTimestamp {
            text: text.to_string(),
            source,
        })
}

fn labels_of(map: &BTreeMap<String, String>) -> Labels {
    Labels::new(
        map.iter()
            .map(|(k, v)| Label::new(k.clone(), v.clone()))
            .collect(),
    )
}

/// Runs one test group; returns its failure messages.
fn run_group(
    tg: &TestGroup,
    specs: &[GroupSpec],
    eval_interval: Duration,
    fuzzy: bool,
    opts: &TestOptions,
) -> Vec<String> {
    let mut errs = Vec::new();
    let interval = tg
        .interval
        .map(|d| d.as_duration())
        .filter(|d| !d.is_zero())
        .unwrap_or(eval_interval);
    let mint = match start_ms(tg) {
        Ok(t) => t,
        Err(e) => return vec![format!("    {e}")],
    };
    let storage = MemStorage::new();
    let mut floats = Vec::new();
    let mut histograms = Vec::new();
    for s in &tg.input_series {
        let labels = match parse_metric(&s.series) {
            Ok(l) => l,
            Err(e) => return vec![format!("    series {:?}: {e}", s.series)],
        };
        let values = match parse_values(&s.values) {
            Ok(v) => v,
            Err(e) => return vec![format!("    series {:?}: {e}", s.series)],
        };
        let step = interval.as_millis() as i64;
        let (mut f, mut h) = (Vec::new(), Vec::new());
        for (i, v) in values.into_iter().enumerate() {
            let t = mint + i as i64 * step;
            match v {
                SeriesValue::Gap => {}
                SeriesValue::Float(v) => f.push((t, v)),
                SeriesValue::Histogram(v) => h.push((t, v)),
            }
        }
        if !h.is_empty() {
            histograms.push((labels.clone(), h));
        }
        floats.push((labels, f));
    }
    if let Err(e) = storage.backfill(floats) {
        return vec![format!("    loading input series: {e}")];
    }
    if let Err(e) = storage.backfill_histograms(histograms) {
        return vec![format!("    loading input series: {e}")];
    }
    for t in &tg.promql_expr_test {
        if let Err(e) = check_features(&t.expr, opts) {
            errs.push(format!("    expr: {:?}, time: {}, err: {e}", t.expr, t.eval_time));
        }
    }
    if !errs.is_empty() {
        return errs;
    }
    let registry = Registry::new();
    let engine = Engine::new(
        EngineOptions {
            default_subquery_step: eval_interval,
            ..EngineOptions::for_tests()
        },
        &registry,
    );
    let max_eval = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time)
        .chain(tg.promql_expr_test.iter().map(|t| t.eval_time))
        .chain(tg.logql_expr_test.iter().map(|t| t.eval_time))
        .max()
        .map(|d| d.as_duration().as_millis() as i64)
        .unwrap_or(0);
    let wants_logs = !tg.input_logs.is_empty()
        || !tg.logql_expr_test.is_empty()
        || specs.iter().any(|s| s.language == QueryLanguage::LogQL);
    let logs = if wants_logs {
        match TestLogs::load(&tg.input_logs, mint, interval, mint + max_eval) {
            Ok(l) => Some(l),
            Err(e) => return vec![format!("    {e}")],
        }
    } else {
        None
    };
    let ext = labels_of(&tg.external_labels);
    let env = EvalEnv {
        engine: &engine,
        storage: &storage,
        logql: logs.as_ref().map(TestLogs::engine),
        language: QueryLanguage::PromQL,
        external_labels: &ext,
        external_url: &tg.external_url,
    };
    let mut groups: Vec<Group> = specs.iter().map(|s| Group::new(s, interval, true)).collect();
    // Alert tests by eval time (ms after start).
    let mut alert_times: Vec<i64> = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time.as_duration().as_millis() as i64)
        .collect();
    alert_times.sort();
    alert_times.dedup();
    let step = eval_interval.as_millis() as i64;
    let mut next_alert = 0usize;
    let mut ts = mint;
    while ts <= mint + max_eval && !groups.is_empty() {
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(&env, ts, None, Duration::from_secs(60));
            for r in &g.rules {
                if let Some(e) = &r.health().last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name(),
                        dur_string(ts - mint)
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        while next_alert < alert_times.len()
            && ts - mint <= alert_times[next_alert]
            && alert_times[next_alert] < ts + step - mint
        {
            let t = alert_times[next_alert];
            for test in tg
                .alert_rule_test
                .iter()
                .filter(|a| a.eval_time.as_duration().as_millis() as i64 == t)
            {
                let mut got: Vec<(Labels, Labels)> = Vec::new();
                for g in &groups {
                    for r in &g.rules {
                        if let Rule::Alerting(ar) = r
                            && ar.name == test.alertname
                        {
                            got.extend(
                                ar.active
                                    .values()
                                    .filter(|a| a.state == AlertState::Firing)
                                    .map(|a| (a.labels.clone(), a.annotations.clone())),
                            );
                        }
                    }
                }
                let mut exp: Vec<(Labels, Labels)> = test
                    .exp_alerts
                    .iter()
                    .map(|a| {
                        let mut l = a.exp_labels.clone();
                        l.insert("alertname".into(), test.alertname.clone());
                        (labels_of(&l), labels_of(&a.exp_annotations))
                    })
                    .collect();
                got.sort_by(|a, b| a.0.cmp(&b.0));
                exp.sort_by(|a, b| a.0.cmp(&b.0));
                if got != exp {
                    errs.push(format!(
                        "    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        test.alertname,
                        dur_string(t),
                        show_alerts(&exp),
                        show_alerts(&got)
                    ));
                }
            }
            next_alert += 1;
        }
        ts += step;
    }
    // Alert tests whose groups never ran (no rule files) still compare
    // against nothing firing.
    if groups.is_empty() {
        for test in &tg.alert_rule_test {
            if !test.exp_alerts.is_empty() {
                errs.push(format!(
                    "    alertname: {}, time: {}, \n        exp:{} alerts, \n        got:[]",
                    test.alertname,
                    test.eval_time,
                    test.exp_alerts.len()
                ));
            }
        }
    }
    for t in &tg.promql_expr_test {
        let at = mint + t.eval_time.as_duration().as_millis() as i64;
        let querier = storage.querier();
        let got = engine
            .instant_query(querier.as_ref(), &t.expr, at, &QueryControl::default())
            .map_err(|e| e.to_string())
            .and_then(|out| match out.value {
                Value::Vector(v) => Ok(v),
                Value::Scalar(v) => Ok(vec![scalar_sample(at, v)]),
                other => Err(format!(
                    "query result is a {}, not a vector or scalar",
                    other.type_name()
                )),
            });
        errs.extend(compare(t, got, fuzzy));
    }
    let logql_env = env.speaking(QueryLanguage::LogQL);
    for t in &tg.logql_expr_test {
        let at = mint + t.eval_time.as_duration().as_millis() as i64;
        let got = logql_env.instant_samples(&t.expr, at).map_err(|e| e.to_string());
        errs.extend(compare(t, got, fuzzy));
    }
    errs
}

/// An expression test's failure message, if its result is not the
/// expected one.
fn compare(t: &ExprTest, got: Result<Vec<Sample>, String>, fuzzy: bool) -> Option<String> {
    let header = format!("    expr: {:?}, time: {}", t.expr, t.eval_time);
    let got = match got {
        Ok(v) => v,
        Err(e) => return Some(format!("{header}, err: {e}")),
    };
    let mut got: Vec<(Labels, Got)> = got
        .into_iter()
        .map(|s| match s.h {
            Some(h) => (s.labels, Got::Histogram(h)),
            None => (s.labels, Got::Float(s.v)),
        })
        .collect();
    let mut exp = Vec::with_capacity(t.exp_samples.len());
    for s in &t.exp_samples {
        let value = match &s.histogram {
            None => Got::Float(s.value),
            Some(text) => match parse_histogram(text) {
                Ok(h) => Got::Histogram(Arc::new(h)),
                Err(e) => return Some(format!("{header}, err: {e}")),
            },
        };
        match parse_metric(&s.labels) {
            Ok(l) => exp.push((l, value)),
            Err(e) => return Some(format!("{header}, err: labels {:?}: {e}", s.labels)),
        }
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == exp.len()
        && got
            .iter()
            .zip(&exp)
            .all(|(g, e)| g.0 == e.0 && g.1.same_as(&e.1, fuzzy));
    (!same).then(|| {
        format!(
            "{header}, \n        exp: {}\n        got: {}",
            show_samples(&exp),
            show_samples(&got)
        )
    })
}

fn floats_equal(a: f64, b: f64, fuzzy: bool) -> bool {
    if a.to_bits() == b.to_bits() || a == b {
        return true;
    }
    if a.is_nan() && b.is_nan() && !is_stale_nan(a) && !is_stale_nan(b) {
        return true;
    }
    if !fuzzy || !a.is_finite() || !b.is_finite() || a.signum() != b.signum() {
        return false;
    }
    // Accept a difference of one unit in the last place.
    (a.to_bits() as i64 - b.to_bits() as i64).abs() <= 1
}

/// A result sample's value: promtool compares floats (optionally within
/// one ULP) and native histograms field by field.
enum Got {
    Float(f64),
    Histogram(Arc<FloatHistogram>),
}

impl Got {
    fn same_as(&self, other: &Got, fuzzy: bool) -> bool {
        match (self, other) {
            (Got::Float(a), Got::Float(b)) => floats_equal(*a, *b, fuzzy),
            (Got::Histogram(a), Got::Histogram(b)) => a.same_as(b),
            _ => false,
        }
    }
}

fn show_samples(s: &[(Labels, Got)]) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|(l, v)| match v {
            Got::Float(v) => format!("{{Labels:{l} Value:{}}}", crate::template::go_float(*v)),
            Got::Histogram(h) => format!("{{Labels:{l} Histogram:{}}}", histogram_notation(h)),
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

fn show_alerts(a: &[(Labels, Labels)]) -> String {
    let parts: Vec<String> = a
        .iter()
        .map(|(l, an)| format!("(labels: {l}, annotations: {an})"))
        .collect();
    format!("[{}]", parts.join(" "))
}
