//! Fuzzes request-body decoding by `Content-Encoding` (`decode_body`, what
//! every Sentry ingest request goes through first): it never panics; a
//! decoded body never exceeds the cap; an unencoded body comes back as
//! sent; and the fuzzer's bytes, compressed with each supported encoding,
//! decode back to themselves — or, past the cap, are refused as too large.

#![no_main]

use std::io::Write;

use belfry::errors::ErrorsError;
use belfry::errors::decode::decode_body;
use libfuzzer_sys::fuzz_target;

const ENCODINGS: [&str; 7] = ["", "identity", "gzip", "x-gzip", "deflate", "br", "zstd"];

fn compress(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" | "x-gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "deflate" => {
            let mut w = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "zstd" => zstd::encode_all(data, 1).unwrap(),
        _ => data.to_vec(),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    let encoding = ENCODINGS[usize::from(selector) % ENCODINGS.len()];
    // A cap that is sometimes below the data's size.
    let cap = u64::from(selector) * 4;

    // Arbitrary bytes under any encoding: an answer, never a panic, and
    // never more than the cap.
    if let Ok(out) = decode_body(Some(encoding), data, cap) {
        assert!(out.len() as u64 <= cap);
        if encoding.is_empty() || encoding == "identity" {
            assert_eq!(&*out, data);
        }
    }

    // A real compressed body decodes to what was compressed.
    if encoding == "br" {
        return; // no brotli encoder among the dependencies
    }
    let body = compress(encoding, data);
    match decode_body(Some(encoding), &body, cap) {
        Ok(out) => assert_eq!(&*out, data),
        Err(ErrorsError::TooLarge { .. }) => assert!(data.len() as u64 > cap),
        Err(e) => panic!("a valid {encoding:?} body was refused: {e}"),
    }
});
