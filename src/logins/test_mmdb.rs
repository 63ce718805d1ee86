//! A small writer of MaxMind DB files (format 2.0 of the MaxMind DB
//! specification) for tests: an IPv6 search tree with 24-bit records
//! (IPv4 networks under `::/96`, where readers look for them), a data
//! section of maps, strings, numbers and arrays without pointers, and the
//! metadata. Unit tests and the integration tests share this one file.

use std::net::IpAddr;

/// A value of the data section.
#[derive(Clone, Debug)]
pub enum MmdbValue {
    Str(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(String, MmdbValue)>),
    Array(Vec<MmdbValue>),
}

#[derive(Clone, Copy)]
enum Slot {
    Empty,
    Node(u32),
    /// An offset into the data section.
    Data(u32),
}

pub struct MmdbWriter {
    database_type: String,
    nodes: Vec<[Slot; 2]>,
    data: Vec<u8>,
}

/// A GeoIP2-City record: the country's ISO code and, when given, the
/// location with its accuracy radius in kilometres.
pub fn city_record(iso_code: &str, location: Option<(f64, f64, u16)>) -> MmdbValue {
    let mut fields = vec![(
        "country".to_string(),
        MmdbValue::Map(vec![
            ("iso_code".into(), MmdbValue::Str(iso_code.into())),
            (
                "names".into(),
                MmdbValue::Map(vec![("en".into(), MmdbValue::Str(iso_code.into()))]),
            ),
        ]),
    )];
    if let Some((latitude, longitude, radius)) = location {
        fields.push((
            "location".into(),
            MmdbValue::Map(vec![
                ("accuracy_radius".into(), MmdbValue::U16(radius)),
                ("latitude".into(), MmdbValue::Double(latitude)),
                ("longitude".into(), MmdbValue::Double(longitude)),
            ]),
        ));
    }
    MmdbValue::Map(fields)
}

impl MmdbWriter {
    pub fn new(database_type: &str) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.into(),
            nodes: vec![[Slot::Empty; 2]],
            data: Vec::new(),
        }
    }

    /// `network/prefix_len` holds `value` (an IPv4 network's prefix counts
    /// its 32 bits).
    pub fn insert(&mut self, network: IpAddr, prefix_len: u8, value: &MmdbValue) {
        let (bytes, prefix_len) = match network {
            IpAddr::V4(v4) => (v4.to_ipv6_compatible().octets(), prefix_len + 96),
            IpAddr::V6(v6) => (v6.octets(), prefix_len),
        };
        assert!((1..=128).contains(&prefix_len), "prefix length out of range");
        let offset = u32::try_from(self.data.len()).unwrap();
        encode(value, &mut self.data);
        let bit = |i: usize| usize::from((bytes[i / 8] >> (7 - i % 8)) & 1);
        let mut node = 0usize;
        for depth in 0..usize::from(prefix_len) - 1 {
            let b = bit(depth);
            node = match self.nodes[node][b] {
                Slot::Node(n) => n as usize,
                other => {
                    // A wider network's data is split between both halves.
                    let fill = match other {
                        Slot::Data(d) => Slot::Data(d),
                        _ => Slot::Empty,
                    };
                    self.nodes.push([fill; 2]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][b] = Slot::Node(u32::try_from(n).unwrap());
                    n
                }
            };
        }
        self.nodes[node][bit(usize::from(prefix_len) - 1)] = Slot::Data(offset);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let node_count = u32::try_from(self.nodes.len()).unwrap();
        let record = |s: Slot| match s {
            Slot::Empty => node_count,
            Slot::Node(n) => n,
            Slot::Data(d) => node_count + 16 + d,
        };
        let mut out = Vec::new();
        for [left, right] in &self.nodes {
            for r in [record(*left), record(*right)] {
                assert!(r < 1 << 24, "the test database outgrew 24-bit records");
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = MmdbValue::Map(vec![
            ("binary_format_major_version".into(), MmdbValue::U16(2)),
            ("binary_format_minor_version".into(), MmdbValue::U16(0)),
            ("build_epoch".into(), MmdbValue::U64(1_700_000_000)),
            ("database_type".into(), MmdbValue::Str(self.database_type.clone())),
            (
                "description".into(),
                MmdbValue::Map(vec![("en".into(), MmdbValue::Str("test database".into()))]),
            ),
            ("ip_version".into(), MmdbValue::U16(6)),
            (
                "languages".into(),
                MmdbValue::Array(vec![MmdbValue::Str("en".into())]),
            ),
            ("node_count".into(), MmdbValue::U32(node_count)),
            ("record_size".into(), MmdbValue::U16(24)),
        ]);
        encode(&metadata, &mut out);
        out
    }
}

/// The control byte(s) of a field: type and size, extended types after
/// the first byte, then the size's extra bytes.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (first, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    if kind <= 7 {
        out.push((kind << 5) | first);
    } else {
        out.push(first);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn unsigned(out: &mut Vec<u8>, kind: u8, be: &[u8]) {
    let start = be.iter().position(|b| *b != 0).unwrap_or(be.len());
    control(out, kind, be.len() - start);
    out.extend_from_slice(&be[start..]);
}

fn encode(value: &MmdbValue, out: &mut Vec<u8>) {
    match value {
        MmdbValue::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        MmdbValue::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        MmdbValue::U16(n) => unsigned(out, 5, &n.to_be_bytes()),
        MmdbValue::U32(n) => unsigned(out, 6, &n.to_be_bytes()),
        MmdbValue::U64(n) => unsigned(out, 9, &n.to_be_bytes()),
        MmdbValue::Map(pairs) => {
            control(out, 7, pairs.len());
            for (k, v) in pairs {
                encode(&MmdbValue::Str(k.clone()), out);
                encode(v, out);
            }
        }
        MmdbValue::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(item, out);
            }
        }
    }
}
