//! Fuzzes the text push path (`POST /api/v1/import/prometheus`,
//! `ingest::push_text`): decompression, parsing and `extra_label`s. It
//! never panics; every sample the parser yields is either stored or counted
//! as refused, and nothing beyond that is stored; a malformed body stores nothing and reports the parser's
//! position; the same body gzip-compressed gives the same result; every
//! stored series carries the extra labels; and a random gzip body is
//! refused cleanly or parsed under the size limit.

#![no_main]

mod common;

use std::io::Write;

use belfry::ingest::{IngestError, IngestLimits, IngestMetrics, PushOutcome, parse_extra_label, push_text};
use belfry::model::Label;
use belfry::exposition::{Entry, Format, Parser};
use belfry::selfmetrics::Registry;
use belfry::tsdb::MemStorage;
use libfuzzer_sys::fuzz_target;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";
const EXTRA: [&str; 3] = ["job=pushed", "instance=host:1", "drop="];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("in-memory gzip");
    enc.finish().expect("in-memory gzip")
}

/// What a push did, comparable across runs: counts, or the error's text.
fn summary(result: &Result<PushOutcome, IngestError>) -> Result<(usize, usize, usize), String> {
    match result {
        Ok(o) => Ok((o.samples_appended, o.series_created, 0)),
        Err(e) => match e.partial_outcome() {
            Some(o) => Ok((o.samples_appended, o.series_created, o.rejections.total_samples())),
            None => Err(e.to_string()),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags], body)) = data.split_first_chunk::<1>() else {
        return;
    };
    let content_type = (flags & 1 == 1).then_some(OPENMETRICS);
    let format = Format::from_content_type(content_type);
    let extra: Vec<Label> = EXTRA
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (2 << i) != 0)
        .map(|(_, e)| parse_extra_label(e).expect("valid extra label"))
        .collect();
    let limits = IngestLimits {
        max_decompressed_bytes: 1 << 20,
        ..IngestLimits::default()
    };
    let registry = Registry::new();
    let metrics = IngestMetrics::new(&registry);

    // `extra_label` values straight from the query string.
    if let Ok(given) = std::str::from_utf8(body)
        && let Ok(label) = parse_extra_label(given)
    {
        assert_eq!(format!("{}={}", label.name, label.value), given);
        assert!(!label.name.is_empty() && label.name != "__name__");
    }

    // A random body declared as gzip: refused cleanly or read within limits.
    if flags & 0x10 != 0 {
        let storage = MemStorage::new();
        let _ = push_text(
            &storage,
            body,
            content_type,
            Some("gzip"),
            &extra,
            &limits,
            &metrics,
        );
        return;
    }

    let storage = MemStorage::new();
    let plain = push_text(&storage, body, content_type, None, &extra, &limits, &metrics);
    let stored = common::dump(&storage);

    let mut parsed_samples = 0usize;
    let mut parse_error = None;
    for entry in Parser::new(body, format) {
        match entry {
            Ok(Entry::Sample(_)) => parsed_samples += 1,
            Ok(_) => {}
            Err(e) => parse_error = Some((e.line, e.column)),
        }
    }

    match &plain {
        Err(IngestError::Parse {
            line, column, path, ..
        }) => {
            assert_eq!(
                parse_error,
                Some((*line, *column)),
                "the push reports the parser's position"
            );
            assert!(path.is_none());
            assert!(stored.is_empty(), "a malformed body stored samples");
        }
        Err(IngestError::TooManySamples { .. } | IngestError::TooLarge { .. }) => {
            assert!(stored.is_empty(), "a refused body stored samples");
        }
        Ok(_) | Err(IngestError::Rejected(_)) => {
            assert_eq!(parse_error, None, "a body the parser refuses was accepted");
            let (appended, _, refused) = summary(&plain).expect("an outcome");
            assert_eq!(
                appended + refused,
                parsed_samples,
                "every sample is stored or counted as refused"
            );
            let stored_samples: usize = stored.iter().map(|(_, s)| s.len()).sum();
            // An exact repeat of a stored sample is accepted without
            // storing anything new (retries are idempotent).
            assert!(
                stored_samples <= appended,
                "{stored_samples} stored, {appended} appended"
            );
            for (labels, _) in &stored {
                for l in &extra {
                    assert_eq!(
                        labels.get(&l.name),
                        (!l.value.is_empty()).then_some(l.value.as_str()),
                        "{labels}"
                    );
                }
            }
        }
        Err(other) => panic!("unexpected push error: {other}"),
    }

    let zipped = gzip(body);
    let gz = push_text(
        &MemStorage::new(),
        &zipped,
        content_type,
        Some("gzip"),
        &extra,
        &limits,
        &metrics,
    );
    assert_eq!(summary(&gz), summary(&plain), "gzip changed the result");
});
