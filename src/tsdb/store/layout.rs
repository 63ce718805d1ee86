//! The byte layout of `chunks.redb` (documented in
//! `docs/storage-format.md`): table definitions and the key/value codecs.
//! Keys we own are big-endian so byte order equals (ref, time) order.

use redb::TableDefinition;

use crate::model::{Label, Labels};

use super::super::LayoutError;

/// The on-disk format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// `series`: series ref → encoded labels.
pub(crate) const SERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("series");
/// `series_range`: series ref → `[min_t i64 LE][max_t i64 LE]` of its chunks.
pub(crate) const SERIES_RANGE: TableDefinition<u64, &[u8]> = TableDefinition::new("series_range");
/// `chunks`: `[ref u64 BE][min_t as sortable u64 BE]` → chunk value.
pub(crate) const CHUNKS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("chunks");
/// `meta`: name → value.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub(crate) const META_FORMAT_VERSION: &str = "format_version";
pub(crate) const META_NEXT_SERIES_REF: &str = "next_series_ref";

/// Bytes before the chunk's own (tagged) bytes in a `chunks` value.
pub(crate) const CHUNK_HEADER_LEN: usize = 12;

pub(crate) type ChunkKey = [u8; 16];

/// Flips the sign bit so that signed times sort as unsigned big-endian bytes.
fn sortable(t: i64) -> u64 {
    (t as u64) ^ (1 << 63)
}

pub(crate) fn chunk_key(series_ref: u64, min_t: i64) -> ChunkKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&series_ref.to_be_bytes());
    k[8..].copy_from_slice(&sortable(min_t).to_be_bytes());
    k
}

pub(crate) fn decode_chunk_key(k: &ChunkKey) -> (u64, i64) {
    let r = u64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
    let t = u64::from_be_bytes(k[8..].try_into().expect("8 bytes")) ^ (1 << 63);
    (r, t as i64)
}

/// The header of a `chunks` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkHeader {
    pub max_t: i64,
    pub num_samples: u32,
}

pub(crate) fn encode_chunk_value(h: ChunkHeader, chunk: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(CHUNK_HEADER_LEN + chunk.len());
    v.extend_from_slice(&h.max_t.to_le_bytes());
    v.extend_from_slice(&h.num_samples.to_le_bytes());
    v.extend_from_slice(chunk);
    v
}

pub(crate) fn decode_chunk_value(v: &[u8]) -> Result<(ChunkHeader, &[u8]), LayoutError> {
    if v.len() <= CHUNK_HEADER_LEN {
        return Err(LayoutError::ChunkTooShort { len: v.len() });
    }
    let max_t = i64::from_le_bytes(v[..8].try_into().expect("8 bytes"));
    let num_samples = u32::from_le_bytes(v[8..12].try_into().expect("4 bytes"));
    Ok((ChunkHeader { max_t, num_samples }, &v[CHUNK_HEADER_LEN..]))
}

pub(crate) fn encode_range(min_t: i64, max_t: i64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&min_t.to_le_bytes());
    b[8..].copy_from_slice(&max_t.to_le_bytes());
    b
}

pub(crate) fn decode_range(v: &[u8]) -> Result<(i64, i64), LayoutError> {
    let b: [u8; 16] = fixed(v)?;
    Ok((
        i64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
        i64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
    ))
}

/// `meta.format_version`: u32 LE.
pub(crate) fn decode_format_version(v: &[u8]) -> Result<u32, LayoutError> {
    fixed(v).map(u32::from_le_bytes)
}

/// `meta.next_series_ref`: u64 LE.
pub(crate) fn decode_next_series_ref(v: &[u8]) -> Result<u64, LayoutError> {
    fixed(v).map(u64::from_le_bytes)
}

fn fixed<const N: usize>(v: &[u8]) -> Result<[u8; N], LayoutError> {
    v.try_into().map_err(|_| LayoutError::WrongLength {
        len: v.len(),
        expected: N,
    })
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_uvarint(b: &[u8], pos: &mut usize) -> Result<u64, LayoutError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = b.get(*pos) else {
            return Err(LayoutError::TruncatedVarint);
        };
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(LayoutError::VarintTooLong)
}

/// `uvarint count`, then per label `uvarint len, name, uvarint len, value`.
pub(crate) fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.byte_len() + 2 * labels.len() + 1);
    put_uvarint(&mut out, labels.len() as u64);
    for l in labels {
        put_uvarint(&mut out, l.name.len() as u64);
        out.extend_from_slice(l.name.as_bytes());
        put_uvarint(&mut out, l.value.len() as u64);
        out.extend_from_slice(l.value.as_bytes());
    }
    out
}

pub(crate) fn decode_labels(b: &[u8]) -> Result<Labels, LayoutError> {
    let mut pos = 0;
    let count = get_uvarint(b, &mut pos)?;
    let mut labels = Vec::with_capacity(count.min(256) as usize);
    let string = |pos: &mut usize| -> Result<String, LayoutError> {
        let len = get_uvarint(b, pos)? as usize;
        let end = pos
            .checked_add(len)
            .filter(|&e| e <= b.len())
            .ok_or(LayoutError::TruncatedString)?;
        let s = std::str::from_utf8(&b[*pos..end])?;
        *pos = end;
        Ok(s.to_string())
    };
    for _ in 0..count {
        let name = string(&mut pos)?;
        let value = string(&mut pos)?;
        labels.push(Label::new(name, value));
    }
    if pos != b.len() {
        return Err(LayoutError::TrailingBytes(b.len() - pos));
    }
    let sorted = labels.windows(2).all(|w| w[0].name < w[1].name);
    if !sorted || labels.iter().any(|l| l.value.is_empty()) {
        return Err(LayoutError::UnsortedLabels);
    }
    Ok(Labels::from_sorted_unchecked(labels))
}

#[cfg(test)]
mod tests {
    use super::super::super::RecordKey;
    use super::*;

    #[test]
    fn chunk_keys_sort_by_ref_then_time() {
        let keys = [
            chunk_key(1, i64::MIN),
            chunk_key(1, -5),
            chunk_key(1, 0),
            chunk_key(1, 7),
            chunk_key(2, -100),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(decode_chunk_key(&keys[1]), (1, -5));
    }

    #[test]
    fn labels_round_trip_and_reject_garbage() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "ä")]);
        assert_eq!(decode_labels(&encode_labels(&l)).unwrap(), l);
        assert!(decode_labels(&[5, 1]).is_err());
        assert!(decode_labels(&[1, 1, b'a', 1, 0xff]).is_err());
        let v = encode_chunk_value(
            ChunkHeader {
                max_t: 9,
                num_samples: 3,
            },
            &[1, 2],
        );
        assert_eq!(
            decode_chunk_value(&v).unwrap(),
            (
                ChunkHeader {
                    max_t: 9,
                    num_samples: 3
                },
                &[1u8, 2][..]
            )
        );
        assert_eq!(
            decode_chunk_value(&v[..5]),
            Err(LayoutError::ChunkTooShort { len: 5 })
        );
    }

    #[test]
    fn truncated_or_corrupt_values_name_what_is_wrong() {
        let l = encode_labels(&Labels::from_pairs(&[("job", "api")]));
        assert_eq!(
            decode_labels(&l[..l.len() - 1]),
            Err(LayoutError::TruncatedString)
        );
        assert_eq!(decode_labels(&[1, 0x80]), Err(LayoutError::TruncatedVarint));
        assert_eq!(decode_labels(&[0xff; 11]), Err(LayoutError::VarintTooLong));
        assert_eq!(
            decode_labels(&[l.as_slice(), &[0, 0]].concat()),
            Err(LayoutError::TrailingBytes(2))
        );
        assert!(matches!(
            decode_labels(&[1, 1, b'a', 1, 0xff]),
            Err(LayoutError::NotUtf8(_))
        ));
        assert_eq!(decode_labels(&[1, 1, b'a', 0]), Err(LayoutError::UnsortedLabels));
        assert_eq!(
            decode_range(&encode_range(1, 2)[..15]),
            Err(LayoutError::WrongLength {
                len: 15,
                expected: 16
            })
        );
        assert_eq!(
            decode_format_version(&[1, 0, 0]),
            Err(LayoutError::WrongLength { len: 3, expected: 4 })
        );
        assert_eq!(decode_next_series_ref(&7u64.to_le_bytes()), Ok(7));

        let err = decode_chunk_value(&[0; 4]).unwrap_err().at(RecordKey::Chunk {
            series_ref: 3,
            min_t: -5,
        });
        assert_eq!(
            err.to_string(),
            "corrupt data in chunks table: series 3 at -5: chunk value of 4 bytes is shorter than its header"
        );
    }
}
