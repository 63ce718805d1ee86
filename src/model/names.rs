//! Which strings may name a label or a metric. Prometheus has two rules:
//! the classic charset that configuration and exposition text require of
//! names written bare, and Prometheus 3's "any non-empty UTF-8" that PromQL
//! applies to names a query makes (`label_replace`, `count_values`).

/// A label name in Prometheus's classic (legacy) charset: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'_') && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A label name Prometheus 3 accepts anywhere: non-empty UTF-8. A Rust
/// `str` is always UTF-8, so only the empty name and text that carried an
/// invalid byte (decoded lossily to U+FFFD) fail.
pub fn is_utf8_label_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{fffd}')
}

/// A metric name in the classic charset: a label name that may also contain `:`.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'_' || first == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_charset() {
        assert!(is_legacy_label_name("job"));
        assert!(is_legacy_label_name("_x1"));
        assert!(!is_legacy_label_name("1x"));
        assert!(!is_legacy_label_name("a-b"));
        assert!(!is_legacy_label_name(""));
        assert!(is_legacy_metric_name("a:b_c"));
        assert!(!is_legacy_label_name("a:b"));
        assert!(is_utf8_label_name("a-b.ü"));
        assert!(!is_utf8_label_name(""));
    }
}
