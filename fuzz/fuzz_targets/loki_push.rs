//! Fuzzes Loki push decoding (`logs::ingest::loki`): the JSON body, the
//! snappy-framed protobuf and the raw protobuf, plus the label selector
//! parser. Never panics; the snappy path never decompresses past its
//! limit; every entry carries at least one label, with unique valid names
//! in sorted order.

#![no_main]

use belfry::logs::ingest::loki::{decode_json, decode_protobuf, decode_snappy, parse_labels};
use belfry::logs::ingest::Decoded;
use belfry::logs::ingest::loki::LokiError;
use belfry::model::is_legacy_label_name;
use libfuzzer_sys::fuzz_target;

fn check(out: Result<Decoded<LokiError>, LokiError>) {
    let Ok(out) = out else { return };
    for e in &out.entries {
        assert!(!e.labels.is_empty());
        assert!(e.labels.iter().all(|(n, _)| is_legacy_label_name(n)));
        assert!(e.labels.windows(2).all(|w| w[0].0 < w[1].0), "{:?}", e.labels);
    }
}

fuzz_target!(|data: &[u8]| {
    check(decode_json(data));
    check(decode_snappy(data, 1 << 16));
    check(decode_protobuf(data));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_labels(text);
    }
});
