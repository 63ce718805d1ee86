//! The stream labels of every document of a segment, read from the
//! `labels` field's postings rather than from stored documents: label
//! terms are few, so walking their postings is far cheaper than loading
//! each line. Each document gets the id of its label set.

use std::collections::HashMap;

use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, SegmentReader, TERMINATED};

use crate::logs::index::LogFields;

use super::error::LogqlError;

pub struct SegmentStreams {
    /// Per document, an index into `sets` (0: no stream labels).
    ids: Vec<u32>,
    pub sets: Vec<Vec<(String, String)>>,
}

/// A term's (name, value) from its dictionary key.
fn decode(key: &[u8]) -> Option<(String, String)> {
    let end = key.iter().position(|b| *b == 0)?;
    let name = std::str::from_utf8(&key[..end]).ok()?.replace('\u{1}', ".");
    let rest = key.get(end + 1..)?;
    let value = rest.strip_prefix(b"s")?;
    Some((name, std::str::from_utf8(value).ok()?.to_string()))
}

impl SegmentStreams {
    pub fn build(f: &LogFields, seg: &SegmentReader) -> Result<SegmentStreams, LogqlError> {
        let inv = seg.inverted_index(f.labels)?;
        let max_doc = seg.max_doc() as usize;
        let mut terms = Vec::new();
        let mut s = inv.terms().stream()?;
        while s.advance() {
            if let Some(pair) = decode(s.key()) {
                terms.push((pair, s.value().clone()));
            }
        }
        if terms.is_empty() {
            return Ok(SegmentStreams {
                ids: Vec::new(),
                sets: vec![Vec::new()],
            });
        }
        // Pass 1: a per-document sum of its terms' hashes names its set.
        let mut hashes = vec![0u64; max_doc];
        for ((name, value), info) in &terms {
            let h = xxhash_rust::xxh3::xxh3_64(format!("{name}\u{0}{value}").as_bytes()) | 1;
            let mut p = inv.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            let mut doc = p.doc();
            while doc != TERMINATED {
                hashes[doc as usize] = hashes[doc as usize].wrapping_add(h);
                doc = p.advance();
            }
        }
        let mut by_hash: HashMap<u64, u32> = HashMap::from([(0, 0)]);
        let mut ids = Vec::with_capacity(max_doc);
        let mut representatives: HashMap<DocId, u32> = HashMap::new();
        for (doc, h) in hashes.iter().enumerate() {
            let next = by_hash.len() as u32;
            let id = *by_hash.entry(*h).or_insert_with(|| {
                representatives.insert(doc as DocId, next);
                next
            });
            ids.push(id);
        }
        // Pass 2: each set's labels, from its first document.
        let mut sets = vec![Vec::new(); by_hash.len()];
        for ((name, value), info) in &terms {
            let mut p = inv.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            let mut doc = p.doc();
            while doc != TERMINATED {
                if let Some(id) = representatives.get(&doc) {
                    sets[*id as usize].push((name.clone(), value.clone()));
                }
                doc = p.advance();
            }
        }
        Ok(SegmentStreams { ids, sets })
    }

    pub fn id(&self, doc: DocId) -> u32 {
        self.ids.get(doc as usize).copied().unwrap_or(0)
    }
}
