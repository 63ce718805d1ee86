//! Fuzzes the text parsers of LogQL's pipeline stages
//! (`logql::parsers`): none panics; what `logfmt_pairs` accepts has
//! non-empty keys without spaces, `=` or quotes, and writing the pairs
//! back as logfmt (`format_logfmt`) reads back the same pairs; `sanitize_label`
//! always gives a valid label name; a JSON path that parses has at least
//! one step.

#![no_main]

use belfry::logql::parsers::{logfmt_pairs, parse_json_path, sanitize_label};
use belfry::logs::ingest::files::logfmt::format_logfmt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pairs) = logfmt_pairs(text) {
        for (key, _) in &pairs {
            assert!(!key.is_empty());
            assert!(!key.bytes().any(|b| b == b'=' || b == b'"' || b.is_ascii_whitespace()), "{key:?}");
        }
        let again = logfmt_pairs(&format_logfmt(&pairs)).expect("written pairs read back");
        assert_eq!(again, pairs);
    }

    let label = sanitize_label(text);
    assert!(label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{label:?}");
    assert!(!label.starts_with(|c: char| c.is_ascii_digit()), "{label:?}");

    if let Ok(path) = parse_json_path(text) {
        assert!(!path.is_empty());
    }
});
