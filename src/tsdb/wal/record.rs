//! WAL record payloads: a type byte and a compact body. Series records
//! spell each label set against the previous one's; sample records keep
//! refs as runs, timestamps once per scrape, and each value XOR'd against
//! the ref's previous value in the same file ([`ValueBases`]) with its zero
//! bytes dropped. `docs/storage-format.md` describes every byte.
//!
//! Format version 1's record types (1 and 2) are still read, so a WAL
//! written by an older build replays.

use crate::model::{Label, Labels, PackedLabels};

use super::compress::{COMPRESSED, decompress_body};
use super::error::DecodeError;
use super::value_bases::ValueBases;

/// Version 1's records: read, never written.
const TYPE_SERIES_V1: u8 = 1;
const TYPE_SAMPLES_V1: u8 = 2;
const TYPE_SERIES: u8 = 3;
const TYPE_SAMPLES: u8 = 4;

/// Label kinds of a series record: what label `i` of a series shares with
/// label `i` of the series before it in the record.
const LABEL_SAME: u8 = 0;
const LABEL_NEW_VALUE: u8 = 1;
const LABEL_NEW: u8 = 2;

/// Timestamp modes of a samples record.
const TIMES_ONE: u8 = 0;
const TIMES_DELTAS: u8 = 1;

#[derive(Debug, Clone, PartialEq)]
pub enum WalRecord {
    /// Series ref → labels, logged before the first samples of a series.
    Series(Vec<(u64, Labels)>),
    /// (series ref, timestamp ms, value).
    Samples(Vec<(u64, i64, f64)>),
}

/// The time span (first, last timestamp) of the samples a record or a
/// segment holds.
pub type TimeSpan = (i64, i64);

impl WalRecord {
    /// Appends the payload (type byte + body) to `out`; sample values are
    /// coded against (and update) `bases`, the state of the file the
    /// payload goes to. Returns the samples' time span.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>, bases: &mut ValueBases) -> Option<TimeSpan> {
        match self {
            WalRecord::Series(series) => {
                encode_series(
                    out,
                    series.len(),
                    series
                        .iter()
                        .map(|(r, l)| (*r, l.iter().map(|l| (l.name.as_str(), l.value.as_str())))),
                );
                None
            }
            WalRecord::Samples(samples) => {
                WalRecord::encode_samples(out, bases, samples.len(), samples.iter().copied())
            }
        }
    }

    /// The payload of a `Series` record for packed label sets, byte for
    /// byte what `WalRecord::Series` of the same labels encodes to.
    pub(crate) fn encode_packed_series(out: &mut Vec<u8>, series: &[(u64, PackedLabels)]) {
        encode_series(out, series.len(), series.iter().map(|(r, l)| (*r, l.pairs())));
    }

    /// The payload of a `Samples` record, encoded from any source of
    /// `(ref, t, v)` without collecting it first. `samples` is walked
    /// three times (refs, timestamps, values), so it must be cheap to
    /// clone.
    pub(crate) fn encode_samples(
        out: &mut Vec<u8>,
        bases: &mut ValueBases,
        count: usize,
        samples: impl Iterator<Item = (u64, i64, f64)> + Clone,
    ) -> Option<TimeSpan> {
        out.push(TYPE_SAMPLES);
        put_uvarint(out, count as u64);
        if count == 0 {
            return None;
        }

        // Refs as runs of consecutive numbers: a scrape logs its series in
        // the order it created them, so a whole target is often one run.
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (r, _, _) in samples.clone() {
            match runs.last_mut() {
                Some((start, len)) if start.wrapping_add(*len) == r => *len += 1,
                _ => runs.push((r, 1)),
            }
        }
        put_uvarint(out, runs.len() as u64);
        let mut next = 0u64;
        for &(start, len) in &runs {
            put_varint(out, start.wrapping_sub(next) as i64);
            put_uvarint(out, len);
            next = start.wrapping_add(len);
        }

        // Timestamps: once when the whole record shares one (a scrape).
        let mut times = samples.clone().map(|(_, t, _)| t);
        let first = times.next().unwrap_or(0);
        let (mut lo, mut hi) = (first, first);
        let mut one = true;
        for t in times {
            one &= t == first;
            lo = lo.min(t);
            hi = hi.max(t);
        }
        put_varint(out, first);
        if one {
            out.push(TIMES_ONE);
        } else {
            out.push(TIMES_DELTAS);
            let mut prev = first;
            for (_, t, _) in samples.clone().skip(1) {
                put_varint(out, t.wrapping_sub(prev));
                prev = t;
            }
        }

        // Values: a control byte each, then the kept bytes of every XOR.
        let controls_at = out.len();
        out.resize(controls_at + count, 0);
        for (i, (r, _, v)) in samples.enumerate() {
            let bits = v.to_bits();
            let x = bits ^ bases.base(r);
            bases.set(r, bits);
            if x == 0 {
                continue;
            }
            let lead = (x.leading_zeros() / 8).min(7);
            let trail = (x.trailing_zeros() / 8).min(7 - lead);
            out[controls_at + i] = (1 + 8 * lead + trail) as u8;
            out.extend_from_slice(&x.to_be_bytes()[lead as usize..(8 - trail) as usize]);
        }
        Some((lo, hi))
    }

    /// Encodes with a fresh file state, as the first record of a file.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out, &mut ValueBases::default());
        out
    }

    /// Decodes a payload read from a file whose earlier records have been
    /// decoded into `bases` (for the first record, a fresh state).
    pub(crate) fn decode_in(payload: &[u8], bases: &mut ValueBases) -> Result<WalRecord, DecodeError> {
        let (&kind, body) = payload
            .split_first()
            .ok_or_else(|| DecodeError("empty record payload".into()))?;
        if kind & COMPRESSED != 0 {
            let plain = decompress_body(body)?;
            return WalRecord::decode_body(kind & !COMPRESSED, &plain, bases);
        }
        WalRecord::decode_body(kind, body, bases)
    }

    fn decode_body(kind: u8, body: &[u8], bases: &mut ValueBases) -> Result<WalRecord, DecodeError> {
        let mut r = Reader { buf: body };
        let record = match kind {
            TYPE_SERIES => WalRecord::Series(decode_series(&mut r)?),
            TYPE_SAMPLES => WalRecord::Samples(decode_samples(&mut r, bases)?),
            TYPE_SERIES_V1 => WalRecord::Series(decode_series_v1(&mut r)?),
            TYPE_SAMPLES_V1 => WalRecord::Samples(decode_samples_v1(&mut r)?),
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

    /// Decodes the first record of a file (or any record not coded
    /// against earlier ones).
    pub fn decode(payload: &[u8]) -> Result<WalRecord, DecodeError> {
        WalRecord::decode_in(payload, &mut ValueBases::default())
    }
}

/// A series record: each label set spelled against the previous one's,
/// since a scrape's series mostly share name, job and instance.
fn encode_series<'a, L>(out: &mut Vec<u8>, count: usize, series: impl Iterator<Item = (u64, L)>)
where
    L: Iterator<Item = (&'a str, &'a str)>,
{
    out.push(TYPE_SERIES);
    put_uvarint(out, count as u64);
    let mut prev_ref = 0u64;
    let mut prev: Vec<(&str, &str)> = Vec::new();
    let mut cur: Vec<(&str, &str)> = Vec::new();
    for (r, labels) in series {
        put_varint(out, r.wrapping_sub(prev_ref) as i64);
        prev_ref = r;
        cur.clear();
        cur.extend(labels);
        put_uvarint(out, cur.len() as u64);
        for (i, &(name, value)) in cur.iter().enumerate() {
            match prev.get(i) {
                Some(&(n, v)) if n == name && v == value => out.push(LABEL_SAME),
                Some(&(n, _)) if n == name => {
                    out.push(LABEL_NEW_VALUE);
                    put_bytes(out, value.as_bytes());
                }
                _ => {
                    out.push(LABEL_NEW);
                    put_bytes(out, name.as_bytes());
                    put_bytes(out, value.as_bytes());
                }
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
}

fn decode_series(r: &mut Reader<'_>) -> Result<Vec<(u64, Labels)>, DecodeError> {
    let n = r.uvarint("series count")?;
    // Every entry takes at least two bytes, which bounds the allocation a
    // corrupt count can ask for.
    let mut series: Vec<(u64, Labels)> = Vec::with_capacity(r.capacity_for(n, 2));
    let mut sref = 0u64;
    for _ in 0..n {
        sref = sref.wrapping_add(r.varint("series ref delta")? as u64);
        let nl = r.uvarint("label count")?;
        let mut labels = Vec::with_capacity(r.capacity_for(nl, 1));
        for i in 0..nl {
            let prev = series.last().and_then(|(_, l)| l.iter().nth(i as usize));
            let kind = r.byte("label kind")?;
            let label = match (kind, prev) {
                (LABEL_SAME, Some(p)) => p.clone(),
                (LABEL_NEW_VALUE, Some(p)) => Label {
                    name: p.name.clone(),
                    value: r.string("label value")?,
                },
                (LABEL_NEW, _) => {
                    let name = r.string("label name")?;
                    let value = r.string("label value")?;
                    Label { name, value }
                }
                (LABEL_SAME | LABEL_NEW_VALUE, None) => {
                    return Err(DecodeError(format!(
                        "label {i} refers to the previous series, which has no label {i}"
                    )));
                }
                (other, _) => return Err(DecodeError(format!("unknown label kind {other}"))),
            };
            labels.push(label);
        }
        series.push((sref, Labels::new(labels)));
    }
    Ok(series)
}

fn decode_samples(r: &mut Reader<'_>, bases: &mut ValueBases) -> Result<Vec<(u64, i64, f64)>, DecodeError> {
    let n = r.uvarint("sample count")?;
    if n == 0 {
        return Ok(Vec::new());
    }
    // Each sample takes at least its control byte.
    if n > r.buf.len() as u64 {
        return Err(DecodeError(format!("sample count {n} exceeds the record")));
    }
    let n = n as usize;
    let mut refs = Vec::with_capacity(n);
    let runs = r.uvarint("ref run count")?;
    let mut next = 0u64;
    for _ in 0..runs {
        let start = next.wrapping_add(r.varint("ref run start")? as u64);
        let len = r.uvarint("ref run length")?;
        if len == 0 || len > (n - refs.len()) as u64 {
            return Err(DecodeError(format!("ref run of {len} does not fit {n} samples")));
        }
        refs.extend((0..len).map(|k| start.wrapping_add(k)));
        next = start.wrapping_add(len);
    }
    if refs.len() != n {
        return Err(DecodeError(format!(
            "ref runs cover {} of {n} samples",
            refs.len()
        )));
    }
    let first = r.varint("first timestamp")?;
    let mut times = Vec::with_capacity(n);
    match r.byte("timestamp mode")? {
        TIMES_ONE => times.resize(n, first),
        TIMES_DELTAS => {
            times.push(first);
            let mut t = first;
            for _ in 1..n {
                t = t.wrapping_add(r.varint("timestamp delta")?);
                times.push(t);
            }
        }
        other => return Err(DecodeError(format!("unknown timestamp mode {other}"))),
    }
    let controls = r.take(n, "value controls")?;
    let mut samples = Vec::with_capacity(n);
    for ((&c, &sref), t) in controls.iter().zip(&refs).zip(times) {
        let x = match c {
            0 => 0,
            1..=64 => {
                let (lead, trail) = ((c - 1) / 8, (c - 1) % 8);
                if lead + trail > 7 {
                    return Err(DecodeError(format!("value control {c} keeps no byte")));
                }
                let kept = r.take(8 - (lead + trail) as usize, "value bytes")?;
                let mut be = [0u8; 8];
                be[lead as usize..(8 - trail) as usize].copy_from_slice(kept);
                u64::from_be_bytes(be)
            }
            other => return Err(DecodeError(format!("unknown value control {other}"))),
        };
        let bits = bases.base(sref) ^ x;
        bases.set(sref, bits);
        samples.push((sref, t, f64::from_bits(bits)));
    }
    Ok(samples)
}

fn decode_series_v1(r: &mut Reader<'_>) -> Result<Vec<(u64, Labels)>, DecodeError> {
    let n = r.uvarint("series count")?;
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
    Ok(series)
}

fn decode_samples_v1(r: &mut Reader<'_>) -> Result<Vec<(u64, i64, f64)>, DecodeError> {
    let n = r.uvarint("sample count")?;
    let mut samples = Vec::with_capacity(r.capacity_for(n, 10));
    let (mut sref, mut t) = (0u64, 0i64);
    for _ in 0..n {
        sref = sref.wrapping_add(r.varint("sample ref delta")? as u64);
        t = t.wrapping_add(r.varint("sample timestamp delta")?);
        let v = f64::from_bits(r.u64_le("sample value")?);
        samples.push((sref, t, v));
    }
    Ok(samples)
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

impl<'a> Reader<'a> {
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

    fn byte(&mut self, what: &str) -> Result<u8, DecodeError> {
        let (&b, rest) = self
            .buf
            .split_first()
            .ok_or_else(|| DecodeError(format!("record ends inside {what}")))?;
        self.buf = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError(format!("record ends inside {what}")));
        }
        let (bytes, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(bytes)
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
        // type, count, ref delta, label count, per label its kind and two
        // length-prefixed strings.
        assert_eq!(
            b.len(),
            1 + 1 + 1 + 1 + 1 + (1 + 8) + (1 + 2) + 1 + (1 + 3) + (1 + 3)
        );
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
        assert!(WalRecord::decode(&[TYPE_SAMPLES_V1, 1, 0, 0]).is_err());
        assert!(WalRecord::decode(&[TYPE_SERIES, 1, 1, 1, 1, 0xff, 0]).is_err());
        assert!(WalRecord::decode(&[TYPE_SERIES_V1, 1, 1, 1, 1, 0xff, 0]).is_err());
        // A label "as the previous series'" in the first series.
        assert!(WalRecord::decode(&[TYPE_SERIES, 1, 2, 1, LABEL_SAME]).is_err());
        // One sample, one run of one ref, one timestamp, control 65.
        assert!(WalRecord::decode(&[TYPE_SAMPLES, 1, 1, 0, 1, 0, TIMES_ONE, 65]).is_err());
        // A run longer than the record's samples.
        assert!(WalRecord::decode(&[TYPE_SAMPLES, 1, 1, 0, 2, 0, TIMES_ONE, 0]).is_err());
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

    /// Version 1's payloads, as a version-1 build wrote them.
    fn encode_v1(rec: &WalRecord) -> Vec<u8> {
        let mut out = Vec::new();
        match rec {
            WalRecord::Series(series) => {
                out.push(TYPE_SERIES_V1);
                put_uvarint(&mut out, series.len() as u64);
                for (r, labels) in series {
                    put_uvarint(&mut out, *r);
                    put_uvarint(&mut out, labels.len() as u64);
                    for l in labels {
                        put_bytes(&mut out, l.name.as_bytes());
                        put_bytes(&mut out, l.value.as_bytes());
                    }
                }
            }
            WalRecord::Samples(samples) => {
                out.push(TYPE_SAMPLES_V1);
                put_uvarint(&mut out, samples.len() as u64);
                let (mut pr, mut pt) = (0u64, 0i64);
                for &(r, t, v) in samples {
                    put_varint(&mut out, r.wrapping_sub(pr) as i64);
                    put_varint(&mut out, t.wrapping_sub(pt));
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                    (pr, pt) = (r, t);
                }
            }
        }
        out
    }

    #[test]
    fn a_scrape_takes_a_few_bytes_per_sample() {
        // 1000 series of one target, scraped twice: one run of refs, one
        // timestamp, and values that mostly repeat or move a little.
        let mut bases = ValueBases::default();
        let scrape = |t: i64, step: f64| {
            WalRecord::Samples(
                (0..1000u64)
                    .map(|r| (100 + r, t, r as f64 * 1000.0 + step * (r % 3) as f64))
                    .collect(),
            )
        };
        let mut first = Vec::new();
        scrape(0, 0.0).encode_into(&mut first, &mut bases);
        let mut second = Vec::new();
        scrape(15_000, 7.0).encode_into(&mut second, &mut bases);
        assert!(second.len() < 1000 * 3, "{} bytes", second.len());
        assert!(second.len() < first.len());
        let mut dec = ValueBases::default();
        assert!(same(
            &WalRecord::decode_in(&first, &mut dec).unwrap(),
            &scrape(0, 0.0)
        ));
        assert!(same(
            &WalRecord::decode_in(&second, &mut dec).unwrap(),
            &scrape(15_000, 7.0)
        ));
    }

    /// Records as the writer frames them: compressed when that pays.
    fn compressed(
        rec: &WalRecord,
        bases: &mut ValueBases,
        zstd: &mut super::super::compress::PayloadCompressor,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        rec.encode_into(&mut out, bases);
        zstd.compress_payload(&mut out, 0);
        out
    }

    #[test]
    fn compressed_records_round_trip_and_bad_frames_are_refused() {
        let mut zstd = super::super::compress::PayloadCompressor::new();
        let series = WalRecord::Series(
            (0..200u64)
                .map(|r| {
                    (
                        r,
                        Labels::from_pairs(&[
                            ("__name__", "node_cpu_seconds_total"),
                            ("cpu", &(r / 8).to_string()),
                            (
                                "mode",
                                [
                                    "idle", "user", "system", "iowait", "irq", "nice", "steal", "softirq",
                                ][r as usize % 8],
                            ),
                        ]),
                    )
                })
                .collect(),
        );
        let plain = series.encode();
        let b = compressed(&series, &mut ValueBases::default(), &mut zstd);
        assert_ne!(b[0] & COMPRESSED, 0);
        assert!(b.len() * 2 < plain.len(), "{} vs {}", b.len(), plain.len());
        assert_eq!(WalRecord::decode(&b).unwrap(), series);
        // A short record stays plain.
        let one = WalRecord::Samples(vec![(1, 2, 3.0)]);
        assert_eq!(
            compressed(&one, &mut ValueBases::default(), &mut zstd),
            one.encode()
        );
        // A damaged frame, or one that lies about its size, is an error.
        let mut bad = b.clone();
        bad.truncate(b.len() - 3);
        assert!(WalRecord::decode(&bad).is_err());
        assert!(WalRecord::decode(&[TYPE_SAMPLES | COMPRESSED, 1, 2, 3]).is_err());
    }

    #[test]
    fn version_1_records_still_decode() {
        let series = WalRecord::Series(vec![(
            7,
            Labels::from_pairs(&[("__name__", "up"), ("job", "lms")]),
        )]);
        let samples = WalRecord::Samples(vec![
            (7, 1_700_000_000_000, 1.0),
            (9, 1_700_000_015_000, STALE_NAN),
        ]);
        assert_eq!(WalRecord::decode(&encode_v1(&series)).unwrap(), series);
        assert!(same(&WalRecord::decode(&encode_v1(&samples)).unwrap(), &samples));
    }

    proptest! {
        #[test]
        fn any_record_round_trips(rec in arb_record()) {
            let b = rec.encode();
            prop_assert!(same(&WalRecord::decode(&b).unwrap(), &rec));
        }

        /// A file's records decode in order against the state the writer
        /// coded them with, refs repeating across and within records.
        #[test]
        fn a_file_of_records_round_trips(
            recs in proptest::collection::vec(
                proptest::collection::vec((0u64..8, any::<i64>(), any::<u64>()), 0..30),
                1..10,
            )
        ) {
            let recs: Vec<WalRecord> = recs
                .into_iter()
                .map(|s| WalRecord::Samples(s.into_iter().map(|(r, t, v)| (r, t, f64::from_bits(v))).collect()))
                .collect();
            let mut enc = ValueBases::default();
            let mut zstd = super::super::compress::PayloadCompressor::new();
            let payloads: Vec<Vec<u8>> = recs.iter().map(|r| compressed(r, &mut enc, &mut zstd)).collect();
            let mut dec = ValueBases::default();
            for (p, r) in payloads.iter().zip(&recs) {
                prop_assert!(same(&WalRecord::decode_in(p, &mut dec).unwrap(), r));
            }
        }

        #[test]
        fn any_version_1_record_decodes(rec in arb_record()) {
            prop_assert!(same(&WalRecord::decode(&encode_v1(&rec)).unwrap(), &rec));
        }

        #[test]
        fn arbitrary_payloads_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = WalRecord::decode(&b);
        }
    }
}
