//! Fuzzes the release-health items' parsers (`session` and `sessions`
//! payloads). They never panic; what they accept counts towards a
//! non-empty release, holds at most `MAX_AGGREGATES` rows, and sums its
//! counts without overflowing; the worst outcome of a row is one with a
//! non-zero count (or healthy).

#![no_main]

use belfry::errors::session::{MAX_AGGREGATES, SessionOutcome, parse_aggregates, parse_session};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(u) = parse_session(data, 1_800_000_000.0) {
        assert!(!u.sid.is_empty() && u.sid.len() <= 128);
        assert!(!u.key.release.is_empty());
        assert!(u.started.is_finite() && u.timestamp.is_finite());
    }
    if let Ok(a) = parse_aggregates(data) {
        assert!(!a.key.release.is_empty());
        assert!(a.rows.len() <= MAX_AGGREGATES);
        for row in &a.rows {
            let total = row.total();
            assert!(total >= row.crashed && total >= row.exited);
            let worst = row.worst();
            match worst {
                SessionOutcome::Crashed => assert!(row.crashed > 0),
                SessionOutcome::Abnormal => assert!(row.abnormal > 0),
                SessionOutcome::Errored => assert!(row.errored > 0),
                SessionOutcome::Healthy => assert!(row.errored == 0 && row.abnormal == 0 && row.crashed == 0),
            }
        }
    }
});
