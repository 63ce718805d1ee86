//! `| pattern "<ip> - <_> \"<method> <path> <_>\""`: literals and named
//! captures (`<_>` skips), matched left to right — each capture takes the
//! text up to the next occurrence of the literal after it, the last one
//! the rest of the line.

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    /// `None` for `<_>`.
    Capture(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    parts: Vec<Part>,
}

impl Pattern {
    /// A `| pattern` parser: at least one named capture.
    pub fn parse(src: &str) -> Result<Pattern, String> {
        let p = Pattern::parse_filter(src)?;
        if !p.parts.iter().any(|p| matches!(p, Part::Capture(Some(_)))) {
            return Err(format!("pattern {src:?} has no named capture such as <name>"));
        }
        Ok(p)
    }

    /// A `|>` / `!>` line filter: captures only stand for text.
    pub fn parse_filter(src: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = src;
        let mut literal = String::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<')
                && let Some(end) = after.find('>')
                && is_capture_name(&after[..end])
            {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                if matches!(parts.last(), Some(Part::Capture(_))) {
                    return Err(format!(
                        "pattern {src:?}: two captures in a row; put a literal between them"
                    ));
                }
                let name = &after[..end];
                parts.push(Part::Capture((name != "_").then(|| name.to_string())));
                rest = &after[end + 1..];
                continue;
            }
            let c = rest.chars().next().unwrap_or_default();
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let mut names: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Capture(Some(n)) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("pattern {src:?} captures {:?} twice", w[0]));
        }
        Ok(Pattern { parts })
    }

    /// Whether the whole of `line` matches, as Loki's pattern line filter
    /// reads it: each literal at its first occurrence after the previous
    /// one, every capture non-empty, a leading literal at the start and a
    /// trailing one at the end.
    pub fn matches_line(&self, line: &str) -> bool {
        if line.is_empty() || self.parts.is_empty() {
            return line.is_empty() && self.parts.is_empty();
        }
        let mut offset = 0;
        for (i, part) in self.parts.iter().enumerate() {
            let Part::Literal(literal) = part else { continue };
            let Some(at) = line[offset..].find(literal.as_str()) else {
                return false;
            };
            // At the start for a leading literal; after a capture, never
            // right away (the capture would be empty).
            if (i == 0) != (at == 0) {
                return false;
            }
            offset += at + literal.len();
        }
        let ends_on_capture = matches!(self.parts.last(), Some(Part::Capture(_)));
        ends_on_capture == (offset != line.len())
    }

    /// The captures of `line`, or `None` when a literal is missing.
    pub fn captures<'a>(&self, line: &'a str) -> Option<Vec<(&str, &'a str)>> {
        let mut out = Vec::new();
        let mut rest = line;
        let mut i = 0;
        while i < self.parts.len() {
            match &self.parts[i] {
                Part::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
                Part::Capture(name) => {
                    let value = match self.parts.get(i + 1) {
                        Some(Part::Literal(next)) => {
                            let end = rest.find(next.as_str())?;
                            let v = &rest[..end];
                            rest = &rest[end + next.len()..];
                            i += 1;
                            v
                        }
                        _ => std::mem::take(&mut rest),
                    };
                    if let Some(n) = name {
                        out.push((n.as_str(), value));
                    }
                }
            }
            i += 1;
        }
        Some(out)
    }
}

fn is_capture_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_an_access_log_line() {
        let p = Pattern::parse(r#"<ip> - <_> "<method> <path> <_>" <status> <size>"#).unwrap();
        let got = p
            .captures(r#"10.0.0.1 - - "GET /login HTTP/1.1" 200 512"#)
            .unwrap();
        assert_eq!(
            got,
            vec![
                ("ip", "10.0.0.1"),
                ("method", "GET"),
                ("path", "/login"),
                ("status", "200"),
                ("size", "512")
            ]
        );
    }

    #[test]
    fn a_line_filter_pattern_matches_whole_lines() {
        let p = Pattern::parse_filter("<_> level=error <_>").unwrap();
        assert!(p.matches_line("ts=1 level=error msg=x"));
        assert!(
            !p.matches_line("level=error msg=x"),
            "the leading capture is empty"
        );
        assert!(
            !p.matches_line("ts=1 level=error"),
            "the trailing capture is empty"
        );
        assert!(!p.matches_line("ts=1 level=info msg=x"));
        let p = Pattern::parse_filter("GET <_> 200").unwrap();
        assert!(p.matches_line("GET /login 200"));
        assert!(!p.matches_line("GET /login 2000"));
        assert!(!p.matches_line("x GET /login 200"));
        assert!(Pattern::parse_filter("").unwrap().matches_line(""));
    }

    #[test]
    fn a_missing_literal_is_no_match_and_bad_patterns_are_refused() {
        let p = Pattern::parse("user=<user> took=<t>").unwrap();
        assert_eq!(
            p.captures("user=ann took=3ms"),
            Some(vec![("user", "ann"), ("t", "3ms")])
        );
        assert_eq!(p.captures("nothing here"), None);
        assert!(Pattern::parse("<a><b>").unwrap_err().contains("two captures"));
        assert!(Pattern::parse("<_> x").unwrap_err().contains("no named capture"));
        assert!(Pattern::parse("<a> <a>").unwrap_err().contains("twice"));
        // `<` without a name is a literal.
        let p = Pattern::parse("a < b <x>").unwrap();
        assert_eq!(p.captures("a < b 5"), Some(vec![("x", "5")]));
    }
}
