//! The issue list's `query`, in the pieces of Sentry's search syntax it
//! understands: plain words and `"quoted phrases"` (in the title or
//! culprit, case ignored), `key:value` and `key:"quoted value"` on the
//! issue's tag summary, `is:STATUS` (`unresolved`, `resolved`,
//! `ignored`, `resolved_in_next_release`, `regressed`), `has:key`, and
//! `!` before any `key:value` to negate it. A piece it cannot read is
//! refused by name.

use super::{Issue, IssueStatus};

#[derive(Clone, Debug, PartialEq)]
pub enum SearchTerm {
    Text(String),
    Tag { key: String, value: String },
    Is(IsFilter),
    Has(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IsFilter {
    Status(IssueStatus),
    Regressed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchPiece {
    pub negated: bool,
    pub term: SearchTerm,
}

/// A parsed `query`: every piece must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssueSearch(pub Vec<SearchPiece>);

/// Tag values matched case-insensitively, as Sentry's `level:ERROR`.
const CASELESS_KEYS: &[&str] = &["level"];

impl IssueSearch {
    pub fn parse(query: &str) -> Result<IssueSearch, String> {
        let mut pieces = Vec::new();
        let mut rest = query.trim_start();
        while !rest.is_empty() {
            let (raw, after) = next_piece(rest)?;
            pieces.push(piece(&raw)?);
            rest = after.trim_start();
        }
        Ok(IssueSearch(pieces))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, issue: &Issue) -> bool {
        self.0.iter().all(|p| p.term.matches(issue) != p.negated)
    }
}

impl SearchTerm {
    fn matches(&self, issue: &Issue) -> bool {
        match self {
            SearchTerm::Text(words) => {
                let haystack = format!("{} {}", issue.title, issue.culprit).to_lowercase();
                haystack.contains(&words.to_lowercase())
            }
            SearchTerm::Tag { key, value } => {
                let Some(tag) = issue.tags.get(key) else {
                    return false;
                };
                let caseless = CASELESS_KEYS.contains(&key.as_str());
                tag.values.iter().any(|(v, _)| {
                    if caseless {
                        v.eq_ignore_ascii_case(value)
                    } else {
                        v == value
                    }
                })
            }
            SearchTerm::Is(IsFilter::Status(s)) => issue.status == *s,
            SearchTerm::Is(IsFilter::Regressed) => issue.regressed,
            SearchTerm::Has(key) => issue.tags.get(key).is_some(),
        }
    }
}

/// One piece: up to whitespace outside quotes. Returns it unquoted-aware
/// (quotes kept for `piece` to read) and the rest.
fn next_piece(s: &str) -> Result<(String, &str), String> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c.is_whitespace() && !in_quotes => return Ok((s[..i].to_string(), &s[i..])),
            _ => {}
        }
    }
    if in_quotes {
        return Err(format!("{s:?}: the quote is not closed"));
    }
    Ok((s.to_string(), ""))
}

fn unquote(raw: &str, piece: &str) -> Result<String, String> {
    let Some(inner) = raw.strip_prefix('"') else {
        if raw.contains('"') {
            return Err(format!("{piece:?}: a quote may only surround a whole value"));
        }
        return Ok(raw.to_string());
    };
    let Some(inner) = inner.strip_suffix('"') else {
        return Err(format!("{piece:?}: the quote is not closed"));
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => return Err(format!("{piece:?}: a quote inside a value needs a backslash")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn piece(raw: &str) -> Result<SearchPiece, String> {
    let (negated, body) = match raw.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, raw),
    };
    let colon = if body.starts_with('"') {
        None
    } else {
        body.find(':')
    };
    let Some(colon) = colon else {
        if negated {
            return Err(format!("{raw:?}: '!' negates a key:value piece only"));
        }
        let text = unquote(body, raw)?;
        return Ok(SearchPiece {
            negated,
            term: SearchTerm::Text(text),
        });
    };
    let key = &body[..colon];
    let value = unquote(&body[colon + 1..], raw)?;
    if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || "._-".contains(c)) {
        return Err(format!("{raw:?}: {key:?} is not a tag key"));
    }
    if value.is_empty() {
        return Err(format!("{raw:?}: the value is empty"));
    }
    let term = match key {
        "is" => SearchTerm::Is(match value.as_str() {
            "regressed" => IsFilter::Regressed,
            v => IsFilter::Status(IssueStatus::parse(v).ok_or_else(|| {
                format!(
                    "{raw:?}: is: takes unresolved, resolved, resolved_in_next_release, ignored or regressed"
                )
            })?),
        }),
        "has" => SearchTerm::Has(value),
        _ => SearchTerm::Tag {
            key: key.to_string(),
            value,
        },
    };
    Ok(SearchPiece { negated, term })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{Event, Grouping};

    fn issue(tags: &str) -> Issue {
        let e = Event::parse(tags.as_bytes(), None, 0.0).unwrap();
        let g = Grouping {
            hash: "h".into(),
            title: "KeyError: grade for submission".into(),
            culprit: "lms.views in grade".into(),
            basis: "exception",
        };
        let mut i = Issue::new(1, 1, &g, &e);
        i.record(&g, &e, false);
        i.tags.add(&e);
        i
    }

    fn matches(query: &str, issue: &Issue) -> bool {
        IssueSearch::parse(query).unwrap().matches(issue)
    }

    #[test]
    fn words_tags_status_negation_and_quotes() {
        let i = issue(
            r#"{"level":"error","release":"1.2","tags":{"course":"Math 101"},
                "contexts":{"browser":{"name":"Chrome"}}}"#,
        );
        assert!(matches("keyerror grade", &i));
        assert!(!matches("keyerror enrol", &i));
        assert!(matches("\"for submission\"", &i));
        assert!(matches(
            "browser:Chrome release:1.2 is:unresolved level:ERROR",
            &i
        ));
        assert!(!matches("browser:Firefox", &i));
        assert!(matches("!browser:Firefox", &i));
        assert!(!matches("!browser:Chrome", &i));
        assert!(matches("course:\"Math 101\"", &i));
        assert!(!matches("course:Math", &i));
        assert!(matches("has:course !has:user", &i));
        assert!(!matches("is:resolved", &i));
        assert!(!matches("is:regressed", &i));
    }

    #[test]
    fn bad_pieces_are_named() {
        for (q, needle) in [
            ("is:sleeping", "\"is:sleeping\""),
            ("browser:", "the value is empty"),
            (":x", "not a tag key"),
            ("course:\"Math 101", "not closed"),
            ("!grade", "negates a key:value"),
            ("a b\"c", "b\\\"c"),
        ] {
            let e = IssueSearch::parse(q).unwrap_err();
            assert!(e.contains(needle), "{q}: {e}");
        }
        assert!(IssueSearch::parse("  ").unwrap().is_empty());
    }
}
