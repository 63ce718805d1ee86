//! Fuzzes the NDJSON logs body (`POST /api/belfry/logs`) and the schema
//! mapping every ingest path shares: it never panics; every non-blank
//! line is either an entry or a numbered error; every mapped record keeps
//! its texts within the line limit, its status within HTTP's range and,
//! through the privacy step every server runs, a user id only as a token.

#![no_main]

use belfry::logs::ndjson::parse_ndjson;
use belfry::logs::schema::{MappingOptions, map_entry};
use belfry::privacy::Privacy;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Built once: a configured key, so no key file is written.
fn privacy() -> &'static Privacy {
    static PRIVACY: OnceLock<Privacy> = OnceLock::new();
    PRIVACY.get_or_init(|| {
        let config = belfry::config::PrivacyConfig {
            user_id_key: Some(belfry::config::Secret::new("fuzz-key-0123456789abcdef")),
            ..Default::default()
        };
        Privacy::open(
            &config,
            std::path::Path::new("."),
            belfry::selfmetrics::Registry::new(),
        )
        .expect("privacy from a configured key")
    })
}

fuzz_target!(|data: &[u8]| {
    let (entries, errors) = parse_ndjson(data);
    let nonblank = data
        .split(|b| *b == b'\n')
        .filter(|l| {
            !l.strip_suffix(b"\r")
                .unwrap_or(l)
                .iter()
                .all(u8::is_ascii_whitespace)
        })
        .count();
    assert_eq!(entries.len() + errors.len(), nonblank);
    let opts = MappingOptions {
        max_line_bytes: 512,
        now_ns: 1_700_000_000_000_000_000,
        privacy: Some(privacy()),
    };
    for (_, entry) in entries {
        let (record, _) = map_entry(entry, &opts);
        assert!(record.message.len() <= 512);
        assert!(record.error.as_ref().is_none_or(|e| e.len() <= 512));
        assert!(record.status.is_none_or(|s| (100..=599).contains(&s)));
        assert!(
            record
                .user
                .as_ref()
                .is_none_or(|u| u.len() == 18 && u.starts_with("u_")),
            "{:?}",
            record.user
        );
    }
    // A line that is itself a JSON log line, as Docker and Loki carry it.
    if let Ok(text) = std::str::from_utf8(data) {
        let entry = belfry::logs::Entry {
            line: text.to_string(),
            ..Default::default()
        };
        let (record, _) = map_entry(entry, &opts);
        assert!(record.message.len() <= 512);
    }
});
