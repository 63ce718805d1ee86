//! Loki's templates call `__line__` and `__timestamp__` as functions;
//! Belfry's template engine has a fixed function table, so before parsing
//! the two names are turned into fields of the data (`.__line__`), which
//! `line_format` and `label_format` fill in.

pub const LINE_KEY: &str = "__line__";
pub const TIMESTAMP_KEY: &str = "__timestamp__";

/// The template text with bare `__line__` / `__timestamp__` made fields.
pub fn prepare_template(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 8);
    let mut rest = src;
    let mut in_action = false;
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            in_action = true;
            out.push_str("{{");
            rest = &rest[2..];
            continue;
        }
        if rest.starts_with("}}") {
            in_action = false;
            out.push_str("}}");
            rest = &rest[2..];
            continue;
        }
        if in_action {
            // Strings inside actions are copied as they are.
            if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '`') {
                let mut end = 1;
                let bytes = rest.as_bytes();
                while end < bytes.len() && bytes[end] != q as u8 {
                    if q == '"' && bytes[end] == b'\\' {
                        end += 1;
                    }
                    end += 1;
                }
                let end = (end + 1).min(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                continue;
            }
            for key in [LINE_KEY, TIMESTAMP_KEY] {
                if rest.starts_with(key) && !out.ends_with(['.', '$']) && !out.ends_with(is_ident_char) {
                    out.push('.');
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_become_fields() {
        assert_eq!(prepare_template("{{__line__}}"), "{{.__line__}}");
        assert_eq!(
            prepare_template("{{ __line__ | toUpper }} __line__"),
            "{{ .__line__ | toUpper }} __line__"
        );
        assert_eq!(prepare_template("{{.__line__}}"), "{{.__line__}}");
        assert_eq!(prepare_template(r#"{{ "__line__" }}"#), r#"{{ "__line__" }}"#);
        assert_eq!(prepare_template("{{ .a }}"), "{{ .a }}");
    }
}
