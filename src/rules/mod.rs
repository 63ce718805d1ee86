//! Prometheus rules: rule files, groups, recording and alerting rules,
//! templates, the rule manager, `check rules` and `test rules`.

mod error;
mod file;
pub mod template;

pub use error::{EvalError, RuleError};
pub use file::{GroupSpec, ParseOptions, RuleFile, RuleKind, RuleSpec, expand_globs, load_file, parse_rules};
