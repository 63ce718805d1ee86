//! Fuzzes syslog decoding (`logs::ingest::syslog`): a message as a UDP
//! datagram, and the same bytes as a TCP stream cut at a fuzzed place.
//! Never panics; every decoded entry has a facility label and a syslog
//! severity 0–7; the TCP framer gives the same frames however the stream
//! is split, and never a frame over its limit.

#![no_main]

use belfry::logs::LevelHint;
use belfry::logs::ingest::syslog::{TcpFramer, decode_datagram};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_796_583_600_000_000_000;
const LIMIT: usize = 256;

fn frames(data: &[u8], cut: usize) -> Vec<Result<Vec<u8>, String>> {
    let mut f = TcpFramer::new(LIMIT);
    let mut out: Vec<_> = f.push(&data[..cut]).into_iter().chain(f.push(&data[cut..])).collect();
    out.extend(f.finish());
    out.into_iter().map(|r| r.map_err(|e| e.to_string())).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else { return };
    if let Ok(e) = decode_datagram(data, NOW) {
        assert!(e.labels.iter().any(|(n, _)| n == "facility"));
        assert!(matches!(e.level, Some(LevelHint::Syslog(0..=7))));
    }
    let whole = frames(data, data.len());
    let split = frames(data, usize::from(cut).min(data.len()));
    assert_eq!(whole, split);
    for frame in whole.iter().flatten() {
        assert!(frame.len() <= LIMIT);
        let _ = decode_datagram(frame, NOW);
    }
});
