//! Prometheus rules: rule files, groups, recording and alerting rules,
//! templates, the rule manager, `check rules` and `test rules`.

pub mod template;
