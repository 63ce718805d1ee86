//! Fuzzes the PromQL parser (`promql::parse`, which wraps promql-parser
//! with positions, literal checks and a panic guard): it never panics; an
//! error carries Prometheus's `LINE:COL: parse error: ` prefix with a place
//! inside the query; and a query it accepts prints (promql-parser's
//! `Display`) to text that parses back to the same syntax tree.

#![no_main]

use belfry::promql::{PromqlError, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let expr = match parse(query) {
        Ok(expr) => expr,
        Err(PromqlError::Parse(message)) => {
            let (place, rest) = message.split_once(": ").unwrap_or_else(|| panic!("{message}"));
            assert!(rest.starts_with("parse error: "), "{message}");
            let (line, col) = place.split_once(':').unwrap_or_else(|| panic!("{message}"));
            let line: usize = line.parse().unwrap_or_else(|_| panic!("{message}"));
            let col: usize = col.parse().unwrap_or_else(|_| panic!("{message}"));
            let lines: Vec<&str> = query.split('\n').collect();
            assert!(line >= 1 && line <= lines.len(), "{message}");
            // Columns count bytes, as Prometheus's do.
            assert!(col >= 1 && col <= lines[line - 1].len() + 1, "{message}");
            return;
        }
        Err(other) => panic!("parse gave a non-parse error: {other}"),
    };
    let printed = expr.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{query:?} printed as {printed:?} does not parse: {e}"));
    // Debug output compares NaN literals equal, unlike `PartialEq`.
    assert_eq!(format!("{again:?}"), format!("{expr:?}"), "{query:?} printed as {printed:?} parses differently");
});
