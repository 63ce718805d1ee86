//! Label matchers (`=`, `!=`, `=~`, `!~`). Regexes are Go's syntax
//! (`go_regex.rs`), compiled once, fully anchored, as Prometheus does, so
//! `job=~"api"` never matches `api-2` and `handler=~"/c/{id}"` matches
//! the text `/c/{id}`.

use regex::Regex;

use super::go_regex::{GoRegexError, compile_go_regex_anchored};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("invalid regular expression {pattern:?} in matcher for label {name:?}: {source}")]
    BadRegex {
        name: String,
        pattern: String,
        #[source]
        source: GoRegexError,
    },
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile_go_regex_anchored(&value).map_err(
                |source| MatcherError::BadRegex {
                    name: name.clone(),
                    pattern: value.clone(),
                    source,
                },
            )?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether a label value (empty when the label is absent) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// True when the empty string matches, i.e. series without the label match.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "api").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("api-2"));
        let m = Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap();
        assert!(m.matches("b"));
        assert!(!m.matches("ab"));
        assert!(m.matches_empty());
    }

    #[test]
    fn bad_regex_names_the_label() {
        let err = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("job"));
    }

    #[test]
    fn regex_reads_gos_syntax() {
        let m = Matcher::new(MatchOp::Regex, "handler", "/api/courses/{course_id}").unwrap();
        assert!(m.matches("/api/courses/{course_id}"));
        assert!(!m.matches("/api/courses/7"));
        let m = Matcher::new(MatchOp::NotRegex, "handler", "/api/{[a-z_]+}").unwrap();
        assert!(!m.matches("/api/{id}"));
        assert!(m.matches("/api/7"));
        // Refused by Go, refused here, naming the label and the pattern.
        let err = Matcher::new(MatchOp::Regex, "job", "x{1001}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"job\"") && err.contains("\"x{1001}\"") && err.contains("invalid repeat count"),
            "{err}"
        );
    }
}
