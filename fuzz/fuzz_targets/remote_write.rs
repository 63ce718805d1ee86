//! Remote-write request decoding must never panic and never allocate past
//! its limits, whatever the body.

#![no_main]

use belfry::ingest::IngestLimits;
use belfry::ingest::remote_write::{decode_protobuf, decode_write_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = IngestLimits::default();
    let _ = decode_write_request(data, &limits);
    // Random bytes rarely pass snappy, so also feed the protobuf layer
    // directly.
    let _ = decode_protobuf(data, &limits, 0);
});
