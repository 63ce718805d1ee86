//! Relabel rules (`relabel_configs`, `metric_relabel_configs`): the YAML
//! shape, Prometheus's defaults and its per-action validation. Applying them
//! lives in `crate::relabel`.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer};

use crate::model::{compile_go_regex_anchored, is_legacy_label_name};

use super::validation_error::ValidationError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelabelAction {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl RelabelAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RelabelAction::Replace => "replace",
            RelabelAction::Keep => "keep",
            RelabelAction::Drop => "drop",
            RelabelAction::KeepEqual => "keepequal",
            RelabelAction::DropEqual => "dropequal",
            RelabelAction::HashMod => "hashmod",
            RelabelAction::LabelMap => "labelmap",
            RelabelAction::LabelDrop => "labeldrop",
            RelabelAction::LabelKeep => "labelkeep",
            RelabelAction::Lowercase => "lowercase",
            RelabelAction::Uppercase => "uppercase",
        }
    }

    const ALL: [RelabelAction; 11] = [
        RelabelAction::Replace,
        RelabelAction::Keep,
        RelabelAction::Drop,
        RelabelAction::KeepEqual,
        RelabelAction::DropEqual,
        RelabelAction::HashMod,
        RelabelAction::LabelMap,
        RelabelAction::LabelDrop,
        RelabelAction::LabelKeep,
        RelabelAction::Lowercase,
        RelabelAction::Uppercase,
    ];
}

impl fmt::Display for RelabelAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RelabelAction {
    /// Case-insensitive, as Prometheus.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let lower = text.to_lowercase();
        RelabelAction::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown relabel action {text:?} (expected one of replace, keep, drop, keepequal, \
                     dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase)"
                ))
            })
    }
}

pub const DEFAULT_REGEX: &str = "(.*)";
pub const DEFAULT_SEPARATOR: &str = ";";
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// A relabel regex: matched against the whole value (anchored at both ends).
#[derive(Clone, Debug)]
pub struct RelabelRegex {
    source: String,
    anchored: Regex,
}

impl RelabelRegex {
    pub fn new(source: &str) -> Result<Self, ValidationError> {
        // Go's syntax, `^(?s:…)$` as Prometheus's `NewRegexp`: `.` also
        // matches a newline inside a label value.
        let anchored = compile_go_regex_anchored(source).map_err(|e| ValidationError::Regex {
            regex: source.to_string(),
            source: e,
        })?;
        Ok(RelabelRegex {
            source: source.to_string(),
            anchored,
        })
    }

    /// The expression as written in the file.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored expression.
    pub fn regex(&self) -> &Regex {
        &self.anchored
    }

    pub fn is_default(&self) -> bool {
        self.source == DEFAULT_REGEX
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex::new(DEFAULT_REGEX).expect("the default relabel regex compiles")
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        RelabelRegex::new(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for RelabelRegex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// One validated relabel rule with Prometheus's defaults filled in.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub target_label: String,
    pub regex: RelabelRegex,
    pub modulus: u64,
    pub replacement: String,
    pub action: RelabelAction,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            target_label: String::new(),
            regex: RelabelRegex::default(),
            modulus: 0,
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: RelabelAction::Replace,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    source_labels: Option<Vec<String>>,
    separator: Option<String>,
    target_label: Option<String>,
    regex: Option<RelabelRegex>,
    modulus: Option<u64>,
    replacement: Option<String>,
    action: Option<RelabelAction>,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = ValidationError;

    fn try_from(raw: RawRelabelConfig) -> Result<Self, ValidationError> {
        let source_labels_given = raw.source_labels.is_some();
        let cfg = RelabelConfig {
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw.separator.unwrap_or_else(|| DEFAULT_SEPARATOR.to_string()),
            target_label: raw.target_label.unwrap_or_default(),
            regex: raw.regex.unwrap_or_default(),
            modulus: raw.modulus.unwrap_or(0),
            replacement: raw.replacement.unwrap_or_else(|| DEFAULT_REPLACEMENT.to_string()),
            action: raw.action.unwrap_or(RelabelAction::Replace),
        };
        cfg.validate(source_labels_given)?;
        Ok(cfg)
    }
}

impl RelabelConfig {
    /// Prometheus's per-action rules (`model/relabel` `Validate`).
    fn validate(&self, source_labels_given: bool) -> Result<(), ValidationError> {
        use RelabelAction::*;
        let action = self.action;
        if let Some(bad) = self.source_labels.iter().find(|l| !is_legacy_label_name(l)) {
            return Err(ValidationError::SourceLabelName(bad.clone()));
        }
        if action == HashMod && self.modulus == 0 {
            return Err(ValidationError::ZeroModulus);
        }
        let needs_target = matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(ValidationError::MissingTargetLabel(action));
        }
        let target_ok = if action == Replace && self.target_label.contains('$') {
            is_label_template(&self.target_label)
        } else {
            is_legacy_label_name(&self.target_label)
        };
        if needs_target && !target_ok {
            return Err(ValidationError::TargetLabel {
                label: self.target_label.clone(),
                action,
            });
        }
        let template_free = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if template_free && self.replacement != DEFAULT_REPLACEMENT {
            return Err(ValidationError::ReplacementNotAllowed(action));
        }
        if action == LabelMap && !is_label_template(&self.replacement) {
            return Err(ValidationError::Replacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        if matches!(action, KeepEqual | DropEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(ValidationError::EqualActionFields(action));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (source_labels_given
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(ValidationError::LabelActionFields(action));
        }
        Ok(())
    }
}

/// Whether `s` can expand into a label name: letters, `_`, digits after
/// the first character, and `$name` / `${name}` references (Prometheus's
/// `relabelTarget` rule).
fn is_label_template(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    let mut at_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'$' {
            let rest = &bytes[i + 1..];
            let len = if rest.first() == Some(&b'{') {
                let inner = rest[1..].iter().take_while(|b| word(**b)).count();
                if inner == 0 || rest.get(1 + inner) != Some(&b'}') {
                    return false;
                }
                inner + 2
            } else {
                let n = rest.iter().take_while(|b| word(**b)).count();
                if n == 0 {
                    return false;
                }
                n
            };
            i += 1 + len;
        } else if b.is_ascii_alphabetic() || b == b'_' || (!at_start && b.is_ascii_digit()) {
            i += 1;
        } else {
            return false;
        }
        at_start = false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RelabelConfig, serde_norway::Error> {
        serde_norway::from_str::<RelabelConfig>(yaml)
    }

    #[test]
    fn regex_reads_gos_syntax() {
        let re = RelabelRegex::new("/api/courses/{course_id}/(.*)").unwrap();
        assert_eq!(re.as_str(), "/api/courses/{course_id}/(.*)");
        let caps = re.regex().captures("/api/courses/{course_id}/grades").unwrap();
        assert_eq!(&caps[1], "grades");
        assert!(RelabelRegex::new("a.b").unwrap().regex().is_match("a\nb"));
        let err = parse("regex: 'a{2}{3}'").unwrap_err().to_string();
        assert!(
            err.contains("a{2}{3}") && err.contains("nested repetition"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_prometheus_defaults() {
        let c = parse("target_label: foo").unwrap();
        assert_eq!(c.action, RelabelAction::Replace);
        assert_eq!(c.separator, ";");
        assert_eq!(c.regex.as_str(), "(.*)");
        assert_eq!(c.replacement, "$1");
    }

    #[test]
    fn action_is_case_insensitive_and_checked() {
        assert_eq!(
            parse("action: LabelDrop\nregex: x").unwrap().action,
            RelabelAction::LabelDrop
        );
        assert!(
            parse("action: explode")
                .unwrap_err()
                .to_string()
                .contains("unknown relabel action")
        );
    }

    #[test]
    fn per_action_validation() {
        let cases = [
            ("action: hashmod\ntarget_label: x", "requires non-zero modulus"),
            ("action: replace", "requires 'target_label'"),
            ("action: replace\ntarget_label: 1bad", "invalid 'target_label'"),
            ("action: replace\ntarget_label: 'a-$1'", "invalid 'target_label'"),
            (
                "action: lowercase\ntarget_label: '${1}'",
                "invalid 'target_label'",
            ),
            (
                "action: uppercase\ntarget_label: x\nreplacement: y",
                "'replacement' can not be set",
            ),
            ("action: labelmap\nreplacement: 'a-b'", "invalid 'replacement'"),
            (
                "action: keepequal\ntarget_label: x\nregex: a",
                "requires only 'source_labels'",
            ),
            (
                "action: dropequal\ntarget_label: x\nseparator: ','",
                "requires only 'source_labels'",
            ),
            ("action: labeldrop\nsource_labels: [a]", "requires only 'regex'"),
            ("action: labelkeep\ntarget_label: a", "requires only 'regex'"),
            ("action: keep\nregex: '('", "invalid regular expression"),
            (
                "action: keep\nsource_labels: ['bad-name']",
                "not a valid label name",
            ),
            ("action: keep\nfoo: 1", "unknown field `foo`"),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).expect_err(yaml).to_string();
            assert!(err.contains(want), "{yaml:?}: {err}");
        }
        for ok in [
            "action: replace\ntarget_label: '${1}_x'",
            "action: replace\ntarget_label: '$1'",
            "action: labelmap\nregex: '__meta_(.+)'",
            "action: labelmap\nregex: '__meta_(.+)'\nreplacement: 'x_${1}'",
            "action: hashmod\ntarget_label: shard\nmodulus: 4\nsource_labels: [a]",
            "action: keepequal\ntarget_label: a\nsource_labels: [b]",
            "action: labeldrop\nregex: 'tmp_.*'",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }
}
