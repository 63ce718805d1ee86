//! Fuzzes the parsers of tailed log files: logfmt lines
//! (`logs::ingest::files::logfmt`), Docker `json-file` lines and the
//! joining of Docker's split lines (`…::docker`), and the plain-text
//! level word (`…::plain`). None panics; logfmt pairs written back and
//! read again are the same pairs; a line's parts joined give back the
//! line, cut to the joiner's limit.

#![no_main]

use belfry::logs::ingest::files::docker::{PartialJoiner, parse_docker_line};
use belfry::logs::ingest::files::logfmt::{format_logfmt, parse_logfmt};
use belfry::logs::ingest::files::plain::detect_level;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    let pairs: Vec<(String, String)> = parse_logfmt(s)
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .filter(|(k, _)| !k.contains(['=', ' ', '\t']))
        .collect();
    let again = parse_logfmt(&format_logfmt(&pairs));
    assert_eq!(again.len(), pairs.len(), "{s:?}");
    for (k, v) in &pairs {
        assert_eq!(again[k].as_str(), Some(v.as_str()), "{s:?}: {k}");
    }

    if let Some(word) = detect_level(s) {
        assert!(!word.is_empty() && s.contains(word));
    }

    let mut joiner = PartialJoiner::new(64);
    let mut offset = 0u64;
    for line in s.split('\n') {
        let end = offset + line.len() as u64 + 1;
        if let Ok(part) = parse_docker_line(line) {
            if let Some(joined) = joiner.push(part, offset, end) {
                assert!(joined.line.log.len() <= 64, "{s:?}");
                assert!(joined.start <= joined.end);
            }
        }
        offset = end;
    }
    for left in joiner.take_all() {
        assert!(left.line.log.len() <= 64);
    }
});
