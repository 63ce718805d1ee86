//! Fuzzes GELF decoding (`logs::ingest::gelf`): the payload (plain, gzip,
//! zlib) under a size limit, UDP chunk reassembly (datagrams split from
//! the input at 0xff bytes) and TCP NUL framing. Never panics; a decoded
//! entry has its line; the assembler never holds more than its memory cap
//! and holds nothing once every message has timed out; NUL frames stay
//! within their limit.

#![no_main]

use belfry::logs::ingest::gelf::{ChunkAssembler, ChunkLimits, NulFramer, decode_payload};
use belfry::selfmetrics::Registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_payload(data, 1 << 16);
    let registry = Registry::new();
    let limits = ChunkLimits { timeout_ns: 100, max_bytes: 512 };
    let mut assembler = ChunkAssembler::new(limits, &registry);
    for (i, datagram) in data.split(|&b| b == 0xff).enumerate() {
        if let Ok(Some(payload)) = assembler.accept(datagram, i as i64 * 10) {
            let _ = decode_payload(&payload, 1 << 16);
        }
        assert!(assembler.held_bytes() <= limits.max_bytes);
    }
    assembler.expire(i64::MAX);
    assert_eq!(assembler.held_bytes(), 0);
    let mut framer = NulFramer::new(64);
    for frame in framer.push(data).into_iter().flatten() {
        assert!(frame.len() <= 64);
    }
});
