//! Prometheus rules: rule files, groups, recording and alerting rules
//! (in PromQL, or in LogQL over the logs store, per group), the rule
//! manager, `check rules` and `test rules`. Templates in labels
//! and annotations are expanded by `crate::template`.

mod alerting;
mod ast;
mod builtin;
mod check;
mod deps;
mod error;
mod file;
mod group;
mod health;
mod history;
mod language;
mod locate;
mod manager;
mod metrics;
mod overrides;
mod query;
mod recording;
mod rule;
mod status;
mod unittest;

pub use alerting::{ActiveAlert, AlertState, AlertingRule, RESOLVED_RETENTION_MS, value_string};
pub use builtin::{builtin_pack, builtin_pack_names};
pub use check::{CheckReport, FileCheck, check_rules, lint_rule};
pub use error::{EvalError, RuleError};
pub use file::{GroupSpec, ParseOptions, RuleFile, RuleKind, RuleSpec, expand_globs, load_file, parse_rules};
pub use group::{FOR_GRACE_PERIOD, Group, GroupOutcome, OUTAGE_TOLERANCE};
pub use health::{Health, RuleHealth};
pub use history::{AlertHistory, AlertTransition, HISTORY_RETENTION_MS, HistoryQueue};
pub use language::{ExprFault, QueryLanguage};
pub use manager::{RuleManager, RuleManagerOptions, SharedGroup, load_specs};
pub use overrides::check_overrides;
pub use query::EvalEnv;
pub use recording::RecordingRule;
pub use rule::Rule;
pub use status::{AlertStatus, GroupStatus, RuleFilter, alerts_of, group_status};
pub use unittest::series::{parse_metric, parse_values};
pub use unittest::{FileReport, TestOptions, TestReport, UnitTestError, test_rules};
