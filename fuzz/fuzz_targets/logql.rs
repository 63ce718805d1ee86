//! Fuzzes the LogQL parser (`logql::parse_query`, which parses log
//! queries and range aggregations itself and hands the operators around
//! them to the PromQL parser) and the bare stream-selector parser of the
//! Loki metadata endpoints: neither panics, and every refusal is a parse
//! error that says so.

#![no_main]

use belfry::logql::{LogqlError, metadata::parse_selector, parse_query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    for result in [parse_query(query).map(|_| ()), parse_selector(query).map(|_| ())] {
        match result {
            Ok(()) => {}
            Err(LogqlError::Parse(message)) => {
                assert!(message.starts_with("parse error"), "{message}");
            }
            Err(other) => panic!("parsing gave a non-parse error: {other}"),
        }
    }
});
