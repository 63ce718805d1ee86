//! Fuzzes OTLP logs decoding (`logs::ingest::otlp`): the protobuf and the
//! OTLP/JSON body. Never panics; a request read from JSON encodes to
//! protobuf and decodes back to itself; every record becomes an entry or
//! a rejection, never both and never neither; ids in entries are hex of
//! the right length.

#![no_main]

use belfry::logs::ingest::otlp::{ExportLogsServiceRequest, decode_json, decode_protobuf, entries};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fn check(request: ExportLogsServiceRequest) {
    let records: usize = request
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum();
    let out = entries(request);
    assert_eq!(out.entries.len() + out.rejected.len(), records);
    for e in &out.entries {
        if let Some(t) = e.fields.get("trace_id") {
            assert_eq!(t.as_str().map(str::len), Some(32));
        }
        if let Some(s) = e.fields.get("span_id") {
            assert_eq!(s.as_str().map(str::len), Some(16));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_protobuf(data) {
        check(request);
    }
    if let Ok(request) = decode_json(data) {
        let again = decode_protobuf(&request.encode_to_vec()).expect("our own encoding decodes");
        assert_eq!(again, request);
        check(request);
    }
});
