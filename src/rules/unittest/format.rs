//! The `promtool test rules` file format, plus log input and LogQL
//! expectations for LogQL rule groups (`input_logs`, `logql_expr_test`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::PromDuration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub evaluation_interval: Option<PromDuration>,
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    #[serde(default)]
    pub fuzzy_compare: bool,
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    #[serde(default)]
    pub interval: Option<PromDuration>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    #[serde(default)]
    pub input_logs: Vec<InputLogs>,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    pub logql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub external_url: String,
    /// Unix seconds or RFC 3339.
    #[serde(default)]
    pub start_timestamp: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    pub series: String,
    /// Kept as written: `0x10` is "0 ten times", not hexadecimal 16.
    pub values: String,
}

/// One stream of log lines.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLogs {
    /// The stream's labels as a selector: `{service="auth", level="warning"}`.
    pub stream: String,
    #[serde(default)]
    pub lines: Vec<InputLine>,
}

/// A line, written `times` times from `at` on, `every` apart.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLine {
    /// After the test's start.
    #[serde(default)]
    pub at: PromDuration,
    pub line: String,
    #[serde(default = "once")]
    pub times: u32,
    /// Default: the test group's `interval`.
    #[serde(default)]
    pub every: Option<PromDuration>,
}

fn once() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTest {
    #[serde(default)]
    pub eval_time: PromDuration,
    pub alertname: String,
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTest {
    pub expr: String,
    #[serde(default)]
    pub eval_time: PromDuration,
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub value: f64,
    #[serde(default)]
    pub histogram: Option<String>,
}

/// A YAML scalar kept as written (numbers and strings alike).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Scalar(pub String);
