//! Fuzzes the issue list's `query` (Sentry's search syntax): it never
//! panics, a refusal always says something, and a query that parses has
//! at most one piece per whitespace-separated word (quotes only join).

#![no_main]

use belfry::errors::IssueSearch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match IssueSearch::parse(text) {
        Ok(search) => {
            assert!(search.0.len() <= text.split_whitespace().count());
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
