//! WAL record payloads: a type byte and a compact body (varint lengths,
//! delta-coded sample references and timestamps, raw value bits).
//! `docs/storage-format.md` describes every byte.

use crate::model::{Label, Labels, PackedLabels};

use super::error::DecodeError;

const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum WalRecord {
    /// Series ref → labels, logged before the first samples of a series.
    Series(Vec<(u64, Labels)>),
    /// (series ref, timestamp ms, value).
    Samples(Vec<(u64, i64, f64)>),
}

impl WalRecord {
    /// Appends the payload (type byte + body) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            WalRecord::Series(series) => {
                out.push(TYPE_SERIES);
                put_uvarint(out, series.len() as u64);
                for (r, labels) in series {
                    put_uvarint(out, *r);
                    put_uvarint(out, labels.len() as u64);
                    for l in labels {
                        put_bytes(out, l.name.as_bytes());
                        put_bytes(out, l.value.as_bytes());
                    }
                }
            }
            WalRecord::Samples(samples) => {
                WalRecord::encode_samples(out, samples.len(), samples.iter().copied());
            }
        }
    }

    /// The payload of a `Series` record for packed label sets, byte for
    /// byte what `WalRecord::Series` of the same labels encodes to.
    pub(crate) fn encode_packed_series(out: &mut Vec<u8>, series: &[(u64, PackedLabels)]) {
        out.push(TYPE_SERIES);
        put_uvarint(out, series.len() as u64);
        for (r, labels) in series {
            put_uvarint(out, *r);
            put_uvarint(out, labels.len() as u64);
            for (name, value) in labels.pairs() {
                put_bytes(out, name.as_bytes());
                put_bytes(out, value.as_bytes());
            }
        }
    }

    /// The payload of a `Samples` record, encoded from any source of
    /// `(ref, t, v)` without collecting it first.
    pub(crate) fn encode_samples(
        out: &mut Vec<u8>,
        count: usize,
        samples: impl Iterator<Item = (u64, i64, f64)>,
    ) {
        out.push(TYPE_SAMPLES);
        put_uvarint(out, count as u64);
        let (mut prev_ref, mut prev_t) = (0u64, 0i64);
        for (r, t, v) in samples {
            put_varint(out, r.wrapping_sub(prev_ref) as i64);
            put_varint(out, t.wrapping_sub(prev_t));
            out.extend_from_slice(&v.to_bits().to_le_bytes());
            (prev_ref, prev_t) = (r, t);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn decode(payload: &[u8]) -> Result<WalRecord, DecodeError> {
        let (&kind, body) = payload
            .split_first()
            .ok_or_else(|| DecodeError("empty record payload".into()))?;
        let mut r = Reader { buf: body };
        let record = match kind {
            TYPE_SERIES => {
                let n = r.uvarint("series count")?;
                // Every entry takes at least two bytes, which bounds the
                // allocation a corrupt count can ask for.
                let mut series = Vec::with_capacity(r.capacity_for(n, 2));
                for _ in 0..n {
                    let sref = r.uvarint("series ref")?;
                    let nl = r.uvarint("label count")?;
                    let mut labels = Vec::with_capacity(r.capacity_for(nl, 2));
                    for _ in 0..nl {
                        let name = r.string("label name")?;
                        let value = r.string("label value")?;
                        labels.push(Label { name, value });
                    }
                    series.push((sref, Labels::new(labels)));
                }
                WalRecord::Series(series)
            }
            TYPE_SAMPLES => {
                let n = r.uvarint("sample count")?;
                let mut samples = Vec::with_capacity(r.capacity_for(n, 10));
                let (mut sref, mut t) = (0u64, 0i64);
                for _ in 0..n {
                    sref = sref.wrapping_add(r.varint("sample ref delta")? as u64);
                    t = t.wrapping_add(r.varint("sample timestamp delta")?);
                    let v = f64::from_bits(r.u64_le("sample value")?);
                    samples.push((sref, t, v));
                }
                WalRecord::Samples(samples)
            }
            other => return Err(DecodeError(format!("unknown record type {other}"))),
        };
        if !r.buf.is_empty() {
            return Err(DecodeError(format!(
                "{} unexpected bytes after the record body",
                r.buf.len()
            )));
        }
        Ok(record)
    }
}

pub(super) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn capacity_for(&self, claimed: u64, min_entry_bytes: usize) -> usize {
        (claimed as usize).min(self.buf.len() / min_entry_bytes)
    }

    fn uvarint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self
                .buf
                .split_first()
                .ok_or_else(|| DecodeError(format!("record ends inside {what}")))?;
            self.buf = rest;
            if i == 9 && byte > 1 {
                return Err(DecodeError(format!("{what} overflows 64 bits")));
            }
            v |= ((byte & 0x7f) as u64) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError(format!("{what} is a varint longer than 10 bytes")))
    }

    fn varint(&mut self, what: &str) -> Result<i64, DecodeError> {
        let u = self.uvarint(what)?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    fn u64_le(&mut self, what: &str) -> Result<u64, DecodeError> {
        let Some((head, rest)) = self.buf.split_first_chunk::<8>() else {
            return Err(DecodeError(format!("record ends inside {what}")));
        };
        self.buf = rest;
        Ok(u64::from_le_bytes(*head))
    }

    fn string(&mut self, what: &str) -> Result<String, DecodeError> {
        let len = self.uvarint(what)?;
        if len > self.buf.len() as u64 {
            return Err(DecodeError(format!("record ends inside {what}")));
        }
        let (bytes, rest) = self.buf.split_at(len as usize);
        self.buf = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError(format!("{what} is not utf-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;
    use proptest::prelude::*;

    fn same(a: &WalRecord, b: &WalRecord) -> bool {
        match (a, b) {
            (WalRecord::Samples(x), WalRecord::Samples(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|(p, q)| p.0 == q.0 && p.1 == q.1 && p.2.to_bits() == q.2.to_bits())
            }
            _ => a == b,
        }
    }

    #[test]
    fn packed_series_encode_like_series_records() {
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "lms")]);
        let mut packed = Vec::new();
        WalRecord::encode_packed_series(&mut packed, &[(7, PackedLabels::new(&labels))]);
        assert_eq!(packed, WalRecord::Series(vec![(7, labels)]).encode());
    }

    #[test]
    fn encodes_compactly_and_round_trips() {
        let rec = WalRecord::Series(vec![(
            7,
            Labels::from_pairs(&[("__name__", "up"), ("job", "lms")]),
        )]);
        let b = rec.encode();
        // type, count, ref, label count, 4 length-prefixed strings.
        assert_eq!(b.len(), 1 + 1 + 1 + 1 + (1 + 8) + (1 + 2) + (1 + 3) + (1 + 3));
        assert_eq!(WalRecord::decode(&b).unwrap(), rec);

        let rec = WalRecord::Samples(vec![
            (7, 1_700_000_000_000, 1.0),
            (8, 1_700_000_000_000, STALE_NAN),
        ]);
        let b = rec.encode();
        assert!(same(&WalRecord::decode(&b).unwrap(), &rec));
    }

    #[test]
    fn rejects_bad_payloads() {
        assert!(WalRecord::decode(&[]).is_err());
        assert!(WalRecord::decode(&[9]).is_err());
        assert!(WalRecord::decode(&[TYPE_SAMPLES, 1, 0, 0]).is_err());
        assert!(WalRecord::decode(&[TYPE_SERIES, 1, 1, 1, 1, 0xff, 0]).is_err());
        let mut b = WalRecord::Samples(vec![]).encode();
        b.push(0);
        assert!(WalRecord::decode(&b).is_err());
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(("[a-z_]{1,8}", "\\PC{1,12}"), 0..6)
            .prop_map(|pairs| Labels::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect()))
    }

    fn arb_record() -> impl Strategy<Value = WalRecord> {
        prop_oneof![
            proptest::collection::vec((any::<u64>(), arb_labels()), 0..20).prop_map(WalRecord::Series),
            proptest::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..50).prop_map(|s| {
                WalRecord::Samples(s.into_iter().map(|(r, t, v)| (r, t, f64::from_bits(v))).collect())
            }),
        ]
    }

    proptest! {
        #[test]
        fn any_record_round_trips(rec in arb_record()) {
            let b = rec.encode();
            prop_assert!(same(&WalRecord::decode(&b).unwrap(), &rec));
        }

        #[test]
        fn arbitrary_payloads_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = WalRecord::decode(&b);
        }
    }
}
