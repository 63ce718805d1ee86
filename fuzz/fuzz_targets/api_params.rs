//! Fuzzes the HTTP API's parameter parsers: `start`/`end`/`time`
//! (`web::parse_time`), `step`-like durations
//! (`web::api::query::parse_duration_param`), `match[]` selectors
//! (`web::parse_selector`) and `U__`-escaped label names in paths
//! (`web::api::series::decode_label_name`). None panics; a time stays in
//! Prometheus's range and survives printing as seconds; a duration error
//! names its parameter and a duration survives printing in ms; a selector
//! yields matcher sets that each select something and that print back to
//! the same sets; a decoded label name is non-empty and escaping it again
//! decodes to the same name.

#![no_main]

use std::fmt::Write as _;

use belfry::model::is_legacy_label_name;
use belfry::model::Matcher;
use belfry::web::api::query::parse_duration_param;
use belfry::web::api::series::decode_label_name;
use belfry::web::{parse_selector, parse_time};
use libfuzzer_sys::fuzz_target;

const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 * 1000;
const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 * 1000;

/// A PromQL double-quoted string for `s`.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A selector for one matcher set.
fn selector(set: &[Matcher]) -> String {
    let parts: Vec<String> = set
        .iter()
        .map(|m| format!("{}{}{}", m.name, m.op.as_str(), quote(&m.value)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Prometheus's `U__` escaping of a label name.
fn escape(name: &str) -> String {
    let mut out = String::from("U__");
    for c in name.chars() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c => {
                let _ = write!(out, "_{:x}_", c as u32);
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    if let Some(ms) = parse_time(s) {
        assert!((MIN_TIME_MS..=MAX_TIME_MS).contains(&ms), "{s:?} -> {ms}");
        if ms.abs() < 1 << 48 {
            let secs = format!(
                "{}{}.{:03}",
                if ms < 0 { "-" } else { "" },
                ms.abs() / 1000,
                ms.abs() % 1000
            );
            assert_eq!(parse_time(&secs), Some(ms), "{s:?} -> {ms} -> {secs:?}");
        }
    }

    match parse_duration_param("step", s) {
        Ok(ms) if ms >= 0 => {
            assert_eq!(
                parse_duration_param("step", &format!("{ms}ms")).ok(),
                Some(ms),
                "{s:?} -> {ms}"
            );
        }
        Ok(_) => {}
        Err(e) => assert!(e.to_string().contains("\"step\""), "{e}"),
    }

    match parse_selector(s) {
        Ok(sets) => {
            assert!(!sets.is_empty(), "{s:?}");
            for set in &sets {
                assert!(set.iter().any(|m| !m.matches_empty()), "{s:?}: {set:?}");
                if set.iter().all(|m| is_legacy_label_name(&m.name)) {
                    let printed = selector(set);
                    let again =
                        parse_selector(&printed).unwrap_or_else(|e| panic!("{s:?} -> {printed:?}: {e}"));
                    assert_eq!(again, vec![set.clone()], "{s:?} -> {printed:?}");
                }
            }
        }
        Err(e) => assert!(e.to_string().contains("match[]"), "{e}"),
    }

    if let Ok(name) = decode_label_name(s) {
        assert!(!name.is_empty(), "{s:?} decoded to an empty label name");
        if !s.starts_with("U__") {
            assert_eq!(name, s);
        }
        let escaped = escape(&name);
        assert_eq!(
            decode_label_name(&escaped).ok().as_deref(),
            Some(name.as_str()),
            "{s:?} -> {name:?} -> {escaped:?}"
        );
    }
});
