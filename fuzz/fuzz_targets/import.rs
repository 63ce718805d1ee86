//! Fuzzes the whole `belfry import` path (`ingest::import_file`) on
//! arbitrary file contents: it never panics; the result does not depend on
//! the block size (the file read whole must give the same report, the same
//! stored samples or the same error as the file read in tiny blocks); an
//! error stores nothing; and a report accounts for every sample it read.

#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use belfry::ingest::{ImportOptions, IngestError, IngestMetrics, import_file};
use belfry::exposition::Format;
use belfry::selfmetrics::Registry;
use belfry::tsdb::MemStorage;
use libfuzzer_sys::fuzz_target;

/// One scratch file per fuzzing process, rewritten for each input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("belfry-fuzz-import-{}.prom", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, block], contents)) = data.split_first_chunk::<2>() else {
        return;
    };
    let format = match flags % 3 {
        0 => None,
        1 => Some(Format::PrometheusText),
        _ => Some(Format::OpenMetrics),
    };
    let path = scratch();
    std::fs::write(path, contents).expect("scratch file is writable");

    let registry = Registry::new();
    let metrics = IngestMetrics::new(&registry);
    let batch_samples = 1 + usize::from(flags >> 2);
    let run = |block_bytes: usize| {
        let options = ImportOptions {
            batch_samples,
            block_bytes,
            ..ImportOptions::default()
        };
        let storage = MemStorage::new();
        let result = import_file(path, format, &storage, &options, &metrics);
        (result, common::dump(&storage))
    };
    let (whole, whole_stored) = run(contents.len() + 1);
    let (split, split_stored) = run(1 + usize::from(block % 128));

    match (&whole, &split) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the block size changed the report");
            assert_eq!(
                whole_stored, split_stored,
                "the block size changed what was stored"
            );
            assert_eq!(a.samples_written + a.samples_skipped, a.samples_read);
            let stored: usize = whole_stored.iter().map(|(_, s)| s.len()).sum();
            assert_eq!(stored, a.samples_written);
            assert!(a.series_created <= a.series && a.series <= a.samples_read);
            if let Some(f) = format {
                assert_eq!(a.format, f);
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "the block size changed the error");
            assert!(!matches!(a, IngestError::Storage(_)), "{a}");
            assert!(
                whole_stored.is_empty() && split_stored.is_empty(),
                "a refused file stored samples"
            );
            assert!(!a.to_string().is_empty());
        }
        _ => panic!(
            "whole file: {:?}; in blocks: {:?}",
            whole
                .as_ref()
                .map(|r| r.samples_read)
                .map_err(ToString::to_string),
            split
                .as_ref()
                .map(|r| r.samples_read)
                .map_err(ToString::to_string)
        ),
    }
});
