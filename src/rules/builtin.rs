//! Rule packs compiled into the binary, named in `rule_files` as
//! `builtin:NAME` (e.g. `builtin:lms`, the pack of `rules/lms/`), so any
//! configuration can load them without the files being around.

use std::path::{Path, PathBuf};

use crate::config::BUILTIN_RULES_PREFIX;

use super::error::RuleError;

/// Every built-in pack: name and rule-file text.
const PACKS: &[(&str, &str)] = &[
    ("lms", include_str!("../../rules/lms/lms.yml")),
    ("lms-logs", include_str!("../../rules/lms/logs.yml")),
];

/// The names `builtin:` accepts, for error messages and docs.
pub fn builtin_pack_names() -> Vec<&'static str> {
    PACKS.iter().map(|(n, _)| *n).collect()
}

/// The rule-file text of a pack, by name.
pub fn builtin_pack(name: &str) -> Option<&'static str> {
    PACKS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The pack a `rule_files` entry names, if it is a `builtin:` entry: its
/// name, or an error listing the known names.
pub(super) fn builtin_entry(entry: &str) -> Option<Result<&'static str, RuleError>> {
    let name = entry.strip_prefix(BUILTIN_RULES_PREFIX)?;
    Some(
        PACKS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, _)| *n)
            .ok_or_else(|| RuleError::UnknownBuiltin {
                name: name.to_string(),
                known: builtin_pack_names().join(", "),
            }),
    )
}

/// The pseudo-path a built-in pack is loaded under: `/api/v1/rules` and
/// error messages name it `builtin:NAME`.
pub(super) fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("{BUILTIN_RULES_PREFIX}{name}"))
}

/// The text of a built-in pack when `path` is one's pseudo-path.
pub(super) fn builtin_text(path: &Path) -> Option<&'static str> {
    builtin_pack(path.to_str()?.strip_prefix(BUILTIN_RULES_PREFIX)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pack_checks_clean() {
        for name in builtin_pack_names() {
            let report = crate::rules::check_rules(&[builtin_path(name)]);
            assert!(!report.has_errors(), "{}", report.render());
            assert!(report.files[0].rules > 0, "{name}: no rules");
        }
    }

    /// Every alert of every pack links its runbook, below the server's
    /// external URL, under its own name (the web layer's tests check that
    /// each such runbook exists and renders).
    #[test]
    fn every_alert_of_the_packs_has_its_runbook_url() {
        let mut alerts = 0;
        for name in builtin_pack_names() {
            let specs = crate::rules::load_specs(&[builtin_path(name)]).unwrap();
            for rule in specs.iter().flat_map(|g| &g.rules) {
                let crate::rules::RuleKind::Alerting {
                    alert, annotations, ..
                } = &rule.kind
                else {
                    continue;
                };
                alerts += 1;
                let url = annotations
                    .iter()
                    .find(|(k, _)| k == "runbook_url")
                    .map(|(_, v)| v.as_str());
                assert_eq!(
                    url,
                    Some(format!("{{{{ $externalURL }}}}/runbooks/{alert}").as_str()),
                    "{name}: {alert}"
                );
            }
        }
        assert!(alerts >= 20, "{alerts}");
    }

    #[test]
    fn builtin_entries_resolve_and_unknown_names_list_the_known_ones() {
        let paths = crate::rules::expand_globs(&["builtin:lms".to_string()]).unwrap();
        assert_eq!(paths, vec![PathBuf::from("builtin:lms")]);
        let specs = crate::rules::load_specs(&paths).unwrap();
        assert!(specs.iter().all(|g| g.file == "builtin:lms"));
        assert!(specs.iter().any(|g| g.name == "lms-api-alerts"));
        let err = crate::rules::expand_globs(&["builtin:nope".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule_files: unknown built-in rule pack \"nope\" (known: lms, lms-logs)"
        );
        assert!(builtin_entry("rules/*.yml").is_none());
    }
}
