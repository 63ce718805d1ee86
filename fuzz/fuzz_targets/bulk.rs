//! Fuzzes Elasticsearch bulk decoding (`logs::ingest::bulk`): never
//! panics; every accepted entry carries its index as a label; the answer
//! has one item per decoded item, `errors` true exactly when an item was
//! refused, and statuses 201 or 400.

#![no_main]

use belfry::logs::ingest::bulk::{ItemStatus, bulk_response, decode_bulk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = decode_bulk(data, Some("url-index")) else { return };
    let accepted = req.items.iter().filter(|i| i.outcome.is_ok()).count();
    for item in &req.items {
        if let Ok(entry) = &item.outcome {
            assert!(entry.labels.iter().any(|(n, v)| n == "index" && Some(v) == item.index.as_ref()));
        }
    }
    let answer = bulk_response(&req, &vec![ItemStatus::Stored; accepted], 0);
    let items = answer["items"].as_array().expect("items");
    assert_eq!(items.len(), req.items.len());
    assert_eq!(answer["errors"].as_bool(), Some(accepted < req.items.len()));
    for item in items {
        let body = item.as_object().expect("object").values().next().expect("one action");
        assert!(matches!(body["status"].as_u64(), Some(201 | 400)));
    }
});
