//! `${VAR}` expansion from the environment, applied to the file text before
//! YAML parsing so secrets can stay out of the file.
//!
//! Only the braced form is expanded and only for names that can be
//! environment variables (`[A-Za-z_][A-Za-z0-9_]*`): `$1`, `${1}` and a bare
//! `$` stay as written, because relabel replacements use them for regex
//! groups and a pasted `prometheus.yml` must keep working. `$$` is a literal
//! `$` (write `$${name}` for a named regex group in a replacement).

/// A `${VAR}` whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    pub name: String,
    /// 1-based line and column of the `$`.
    pub line: usize,
    pub column: usize,
}

pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, UnsetVariable> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0usize;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            consumed += pos + 2;
            rest = tail;
            continue;
        }
        if let Some(name) = braced_name(after) {
            let Some(value) = lookup(name) else {
                let (line, column) = line_column(text, consumed + pos);
                return Err(UnsetVariable {
                    name: name.to_string(),
                    line,
                    column,
                });
            };
            out.push_str(&value);
            let skip = pos + 1 + name.len() + 2;
            consumed += skip;
            rest = &rest[skip..];
            continue;
        }
        out.push('$');
        consumed += pos + 1;
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// The name in `{NAME}` at the start of `s`, when NAME is an env-var name.
fn braced_name(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    bytes
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        .then_some(name)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_variables() {
        assert_eq!(
            expand("a: ${TOKEN}\nb: x${EMPTY}y", env).unwrap(),
            "a: s3cr3t\nb: xy"
        );
    }

    #[test]
    fn leaves_regex_references_and_bare_dollars() {
        let text = "replacement: '${1}:9100'\nregex: '^a$'\nr: $1 $x ${not-a-name}";
        assert_eq!(expand(text, env).unwrap(), text);
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(expand("p: $${TOKEN} $$1", env).unwrap(), "p: ${TOKEN} $1");
    }

    #[test]
    fn unset_variable_is_named_with_position() {
        let err = expand("a: 1\nb: x ${NOPE}", env).unwrap_err();
        assert_eq!(
            err,
            UnsetVariable {
                name: "NOPE".into(),
                line: 2,
                column: 6
            }
        );
    }
}
