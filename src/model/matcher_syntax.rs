//! Alertmanager's matcher strings (`severity="critical"`, `job=~"api|web"`,
//! `{a="1", b!~"x.*"}`) parsed into the shared `Matcher`, plus matching a
//! set of matchers against alert labels.

use crate::model::{Labels, MatchOp, Matcher, MatcherError};

/// Why a matcher string was refused: the whole string, and what is wrong in it.
#[derive(Debug, thiserror::Error)]
#[error("matcher {text:?}: {problem}")]
pub struct MatcherSyntaxError {
    pub text: String,
    pub problem: MatcherProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum MatcherProblem {
    #[error("missing closing brace")]
    MissingBrace,
    #[error("expected a comma before {0:?}")]
    MissingComma(String),
    #[error("holds no matcher")]
    Empty,
    #[error("expected an operator (=, !=, =~, !~)")]
    MissingOperator,
    #[error("missing label name")]
    MissingName,
    #[error("expected an operator (=, !=, =~, !~) after {0:?}")]
    MissingOperatorAfter(String),
    #[error("unterminated quoted value")]
    Unterminated,
    #[error(transparent)]
    Matcher(#[from] MatcherError),
}

/// Parses one matcher string, which may hold several comma-separated
/// matchers and may be wrapped in braces.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherSyntaxError> {
    let fail = |problem| MatcherSyntaxError {
        text: text.to_string(),
        problem,
    };
    let mut s = text.trim();
    if let Some(inner) = s.strip_prefix('{') {
        s = inner
            .strip_suffix('}')
            .ok_or_else(|| fail(MatcherProblem::MissingBrace))?;
    }
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (m, after) = parse_one(rest).map_err(fail)?;
        out.push(m);
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(fail(MatcherProblem::MissingComma(rest.to_string())));
        }
    }
    if out.is_empty() {
        return Err(fail(MatcherProblem::Empty));
    }
    Ok(out)
}

fn parse_one(s: &str) -> Result<(Matcher, &str), MatcherProblem> {
    let name_end = s
        .find(|c: char| matches!(c, '=' | '!' | '~') || c.is_whitespace())
        .ok_or(MatcherProblem::MissingOperator)?;
    let name = s[..name_end].trim_matches('"');
    if name.is_empty() {
        return Err(MatcherProblem::MissingName);
    }
    let rest = s[name_end..].trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::Regex, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else {
        return Err(MatcherProblem::MissingOperatorAfter(name.to_string()));
    };
    let rest = rest.trim_start();
    let (value, after) = if let Some(quoted) = rest.strip_prefix('"') {
        unquote(quoted)?
    } else {
        let end = rest
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        (rest[..end].to_string(), &rest[end..])
    };
    let m = Matcher::new(op, name, value)?;
    Ok((m, after))
}

/// Reads a double-quoted string body (after the opening quote).
fn unquote(s: &str) -> Result<(String, &str), MatcherProblem> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c @ ('"' | '\\'))) => out.push(c),
                // Regexes keep their own escapes (`\.`, `\d`).
                Some((_, c)) => {
                    out.push('\\');
                    out.push(c);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(MatcherProblem::Unterminated)
}

/// True when every matcher matches (an absent label is the empty string).
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_four_operators_and_braces() {
        let ms = parse_matchers(r#"{a="1", b!="2",c=~"x|y" , d!~ z.*}"#).unwrap();
        let ops: Vec<_> = ms.iter().map(|m| m.op).collect();
        assert_eq!(
            ops,
            [
                MatchOp::Equal,
                MatchOp::NotEqual,
                MatchOp::Regex,
                MatchOp::NotRegex
            ]
        );
        assert_eq!(ms[3].value, "z.*");
        let ms = parse_matchers(r#"severity = "crit\"ical""#).unwrap();
        assert_eq!(ms[0].value, "crit\"ical");
        let ms = parse_matchers(r#"path=~"/api\.v1""#).unwrap();
        assert!(ms[0].matches("/api.v1"));
        assert!(!ms[0].matches("/apixv1"));
    }

    #[test]
    fn rejects_bad_matchers() {
        for bad in ["", "a", "=b", r#"a="b"#, "{a=b", "a=~(", "a=b c=d"] {
            assert!(parse_matchers(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn absent_label_is_empty() {
        let ms = parse_matchers(r#"team!="db""#).unwrap();
        assert!(matches_all(&ms, &Labels::from_pairs(&[("a", "b")])));
        let ms = parse_matchers(r#"team="""#).unwrap();
        assert!(matches_all(&ms, &Labels::default()));
    }
}
