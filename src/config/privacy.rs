//! `logs.privacy`: the key that turns user ids into tokens and which
//! scrubbers sanitize text before it is stored. The section is held by the
//! logs section (and read by errors too, so one user is one token across
//! both); the machinery that applies it is `crate::privacy`.

use std::collections::HashSet;

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};

use super::Secret;

/// The scrubbers Belfry ships, by the names users write in `disable` and
/// `enable`. `crate::privacy` holds their patterns; a unit test there keeps
/// the two lists equal.
pub const BUILTIN_SCRUBBERS: &[&str] = &[
    "url_password",
    "bearer_token",
    "api_key",
    "secret_pair",
    "email",
    "card_number",
    "ip_address",
];

/// The built-ins on unless disabled. `ip_address` is off for logs, where
/// a client address is often what an operator needs; errors enable it.
pub const DEFAULT_ON_SCRUBBERS: &[&str] = &[
    "url_password",
    "bearer_token",
    "api_key",
    "secret_pair",
    "email",
    "card_number",
];

/// Shortest accepted `user_id_key`: below 16 bytes an offline guess of
/// the key from known id/token pairs becomes thinkable.
pub const MIN_USER_ID_KEY_LEN: usize = 16;

/// Compiled size a custom scrubber's regex may take: a pattern such as
/// `\w{1000}{1000}` would otherwise take gigabytes at load.
pub const CUSTOM_REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The HMAC key for user ids (`${VAR}` allowed). Unset: a key is
    /// generated into `<data-dir>/privacy.key` on first start and read from
    /// there afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id_key: Option<Secret>,
    #[serde(default)]
    pub scrubbers: ScrubbersConfig,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrubbersConfig {
    /// Built-in scrubbers to switch off, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Built-in scrubbers that are off by default to switch on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enable: Vec<String>,
    /// The user's own scrubbers, applied after the built-ins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<CustomScrubber>,
    /// More keys whose values the structured scrubber replaces whole
    /// (matched case-insensitively as a part of the key, as the built-in
    /// `password`, `token`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomScrubber {
    pub name: String,
    /// A regex (Rust syntax). With a group named `value`, only that group
    /// is replaced (`id=(?P<value>\d+)` keeps `id=`); otherwise the whole
    /// match.
    pub regex: String,
    /// Inserted as written (`$1` is not expanded).
    #[serde(default = "default_replacement")]
    pub replacement: String,
}

fn default_replacement() -> String {
    "[redacted]".to_string()
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PrivacyConfigError {
    #[error(
        "privacy.user_id_key is empty (is its environment variable set?); remove the key to have one generated into the data directory"
    )]
    EmptyKey,
    #[error(
        "privacy.user_id_key is {len} bytes; use at least {MIN_USER_ID_KEY_LEN} (for example `openssl rand -hex 32`)"
    )]
    ShortKey { len: usize },
    #[error("privacy.scrubbers.{list}: unknown scrubber {name:?}; the built-in ones are {}", BUILTIN_SCRUBBERS.join(", "))]
    UnknownScrubber { list: &'static str, name: String },
    #[error("privacy.scrubbers: {name:?} is both enabled and disabled")]
    EnabledAndDisabled { name: String },
    #[error("privacy.scrubbers.custom: a scrubber needs a name")]
    EmptyName,
    #[error("privacy.scrubbers.custom: the name {name:?} is used twice (built-in names included)")]
    DuplicateName { name: String },
    #[error("privacy.scrubbers.custom {name:?}: invalid regex: {reason}")]
    BadRegex { name: String, reason: String },
    #[error(
        "privacy.scrubbers.custom {name:?}: the regex matches the empty string, so it would insert its replacement everywhere"
    )]
    MatchesEmpty { name: String },
    #[error("privacy.scrubbers.sensitive_keys: an empty key would match every key")]
    EmptySensitiveKey,
}

impl PrivacyConfig {
    pub fn validate(&self) -> Result<(), PrivacyConfigError> {
        if let Some(key) = &self.user_id_key {
            let len = key.expose().len();
            if len == 0 {
                return Err(PrivacyConfigError::EmptyKey);
            }
            if len < MIN_USER_ID_KEY_LEN {
                return Err(PrivacyConfigError::ShortKey { len });
            }
        }
        self.scrubbers.validate()
    }
}

impl ScrubbersConfig {
    fn validate(&self) -> Result<(), PrivacyConfigError> {
        for (list, names) in [("disable", &self.disable), ("enable", &self.enable)] {
            if let Some(name) = names.iter().find(|n| !BUILTIN_SCRUBBERS.contains(&n.as_str())) {
                return Err(PrivacyConfigError::UnknownScrubber {
                    list,
                    name: name.clone(),
                });
            }
        }
        if let Some(name) = self.enable.iter().find(|n| self.disable.contains(n)) {
            return Err(PrivacyConfigError::EnabledAndDisabled { name: name.clone() });
        }
        let mut names: HashSet<&str> = BUILTIN_SCRUBBERS.iter().copied().collect();
        for custom in &self.custom {
            if custom.name.is_empty() {
                return Err(PrivacyConfigError::EmptyName);
            }
            if !names.insert(&custom.name) {
                return Err(PrivacyConfigError::DuplicateName {
                    name: custom.name.clone(),
                });
            }
            let regex = compile_custom(&custom.regex).map_err(|e| PrivacyConfigError::BadRegex {
                name: custom.name.clone(),
                reason: e.to_string(),
            })?;
            if regex.is_match("") {
                return Err(PrivacyConfigError::MatchesEmpty {
                    name: custom.name.clone(),
                });
            }
        }
        if self.sensitive_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(PrivacyConfigError::EmptySensitiveKey);
        }
        Ok(())
    }

    /// Whether built-in scrubber `name` is on under this configuration.
    pub fn builtin_enabled(&self, name: &str) -> bool {
        let on_by_default = DEFAULT_ON_SCRUBBERS.contains(&name);
        (on_by_default || self.enable.iter().any(|n| n == name)) && !self.disable.iter().any(|n| n == name)
    }
}

/// How a custom scrubber's regex is compiled, here for validation and in
/// `crate::privacy` for use, so both accept the same patterns.
pub fn compile_custom(pattern: &str) -> Result<regex::Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(CUSTOM_REGEX_SIZE_LIMIT)
        .dfa_size_limit(CUSTOM_REGEX_SIZE_LIMIT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> PrivacyConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn empty_section_has_every_default_scrubber_and_no_key() {
        let config = parse("{}");
        assert_eq!(config.user_id_key, None);
        config.validate().unwrap();
        for name in DEFAULT_ON_SCRUBBERS {
            assert!(config.scrubbers.builtin_enabled(name), "{name}");
        }
        assert!(!config.scrubbers.builtin_enabled("ip_address"));
    }

    #[test]
    fn disable_and_enable_switch_builtins() {
        let config = parse("scrubbers: {disable: [card_number], enable: [ip_address]}");
        config.validate().unwrap();
        assert!(!config.scrubbers.builtin_enabled("card_number"));
        assert!(config.scrubbers.builtin_enabled("ip_address"));
        assert!(config.scrubbers.builtin_enabled("email"));
    }

    #[test]
    fn key_is_redacted_when_shown() {
        let config = parse("user_id_key: 0123456789abcdef0123");
        config.validate().unwrap();
        let shown = serde_norway::to_string(&config).unwrap();
        assert!(shown.contains("user_id_key: <secret>"), "{shown}");
        assert!(!shown.contains("0123456789"), "{shown}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_norway::from_str::<PrivacyConfig>("scrubbers: {disabled: [email]}").unwrap_err();
        assert!(err.to_string().contains("disabled"), "{err}");
    }

    #[test]
    fn bad_values_get_clear_errors() {
        let cases = [
            ("user_id_key: ''", "is empty"),
            ("user_id_key: short", "5 bytes"),
            ("scrubbers: {disable: [emails]}", "unknown scrubber \"emails\""),
            (
                "scrubbers: {disable: [email], enable: [email]}",
                "both enabled and disabled",
            ),
            (
                "scrubbers: {custom: [{name: x, regex: 'a(b'}]}",
                "\"x\": invalid regex",
            ),
            (
                "scrubbers: {custom: [{name: x, regex: 'a*'}]}",
                "matches the empty string",
            ),
            ("scrubbers: {custom: [{name: email, regex: 'a'}]}", "used twice"),
            ("scrubbers: {custom: [{name: '', regex: 'a'}]}", "needs a name"),
            (
                "scrubbers: {custom: [{name: big, regex: '\\w{1000}{1000}'}]}",
                "invalid regex",
            ),
            ("scrubbers: {sensitive_keys: [' ']}", "empty key"),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).validate().unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn custom_replacement_defaults_to_redacted() {
        let config = parse("scrubbers: {custom: [{name: student, regex: 'S\\d{7}'}]}");
        config.validate().unwrap();
        assert_eq!(config.scrubbers.custom[0].replacement, "[redacted]");
    }
}
