//! Request bodies by `Content-Encoding` — gzip, deflate (zlib, or raw
//! deflate as some clients send it), br, zstd — inflated to at most the
//! decompressed-size cap: reading stops one byte past it, so a bomb costs
//! the cap, never its claimed size.

use std::borrow::Cow;
use std::io::Read;

use super::ErrorsError;

/// `body` decoded; borrowed when it was not encoded.
pub fn decode_body<'a>(
    encoding: Option<&str>,
    body: &'a [u8],
    cap: u64,
) -> Result<Cow<'a, [u8]>, ErrorsError> {
    let encoding = encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (name, reader): (&'static str, Box<dyn Read + 'a>) = match encoding.as_str() {
        "" | "identity" => {
            if body.len() as u64 > cap {
                return Err(too_large(body.len() as u64, cap));
            }
            return Ok(Cow::Borrowed(body));
        }
        "gzip" | "x-gzip" => ("gzip", Box::new(flate2::read::MultiGzDecoder::new(body))),
        "deflate" => {
            // RFC 9110's deflate is zlib; raw deflate is the common mistake.
            let zlib = body.len() >= 2
                && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0
                && body[0] & 0x0f == 8;
            if zlib {
                ("deflate", Box::new(flate2::read::ZlibDecoder::new(body)))
            } else {
                ("deflate", Box::new(flate2::read::DeflateDecoder::new(body)))
            }
        }
        "br" => ("br", Box::new(brotli_decompressor::Decompressor::new(body, 4096))),
        "zstd" => {
            let decoder =
                zstd::stream::read::Decoder::with_buffer(body).map_err(|e| ErrorsError::BadEncoding {
                    encoding: "zstd",
                    reason: e.to_string(),
                })?;
            ("zstd", Box::new(decoder))
        }
        other => return Err(ErrorsError::UnsupportedEncoding(other.to_string())),
    };
    let mut out = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ErrorsError::BadEncoding {
            encoding: name,
            reason: e.to_string(),
        })?;
    if out.len() as u64 > cap {
        return Err(too_large(out.len() as u64, cap));
    }
    Ok(Cow::Owned(out))
}

fn too_large(size: u64, limit: u64) -> ErrorsError {
    ErrorsError::TooLarge {
        what: "the decompressed body",
        size,
        limit,
        key: "max_decompressed_bytes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"{\"event_id\":\"x\"}\n{\"type\":\"event\"}\n{\"message\":\"hello\"}\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_encoding_decodes() {
        assert_eq!(&*decode_body(None, TEXT, 1000).unwrap(), TEXT);
        assert_eq!(&*decode_body(Some("GZIP"), &gzip(TEXT), 1000).unwrap(), TEXT);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(TEXT).unwrap();
        assert_eq!(
            &*decode_body(Some("deflate"), &z.finish().unwrap(), 1000).unwrap(),
            TEXT
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(TEXT).unwrap();
        assert_eq!(
            &*decode_body(Some("deflate"), &d.finish().unwrap(), 1000).unwrap(),
            TEXT
        );
        let zs = zstd::encode_all(TEXT, 3).unwrap();
        assert_eq!(&*decode_body(Some("zstd"), &zs, 1000).unwrap(), TEXT);
        // A brotli stream of TEXT stored uncompressed (a metablock header
        // then the bytes), since only the decoder is a dependency.
        let br = brotli_stored(TEXT);
        assert_eq!(&*decode_body(Some("br"), &br, 1000).unwrap(), TEXT);
    }

    /// A minimal brotli stream: WBITS 16, one uncompressed metablock,
    /// then an empty last metablock.
    fn brotli_stored(data: &[u8]) -> Vec<u8> {
        let mut bits: Vec<bool> = Vec::new();
        let push = |v: u64, n: usize, bits: &mut Vec<bool>| (0..n).for_each(|i| bits.push(v >> i & 1 == 1));
        push(0, 1, &mut bits); // WBITS = 16
        push(0, 1, &mut bits); // ISLAST = 0
        push(0, 2, &mut bits); // MNIBBLES = 4
        push((data.len() - 1) as u64, 16, &mut bits);
        push(1, 1, &mut bits); // ISUNCOMPRESSED
        while !bits.len().is_multiple_of(8) {
            bits.push(false);
        }
        let mut out: Vec<u8> = bits
            .chunks(8)
            .map(|c| c.iter().rev().fold(0u8, |a, b| a << 1 | u8::from(*b)))
            .collect();
        out.extend_from_slice(data);
        out.push(0b0000_0011); // ISLAST = 1, ISLASTEMPTY = 1
        out
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 64 << 10);
        let e = decode_body(Some("gzip"), &bomb, 1 << 20).unwrap_err();
        assert_eq!(e.reason(), "decompressed_too_large");
        let e = decode_body(None, &[b'a'; 2000], 1000).unwrap_err();
        assert_eq!(e.reason(), "decompressed_too_large");
    }

    #[test]
    fn bad_and_unknown_encodings() {
        let e = decode_body(Some("gzip"), b"not gzip", 1000).unwrap_err();
        assert!(e.to_string().contains("gzip body does not decompress"), "{e}");
        let e = decode_body(Some("compress"), b"x", 1000).unwrap_err();
        assert!(matches!(e, ErrorsError::UnsupportedEncoding(_)));
    }
}
