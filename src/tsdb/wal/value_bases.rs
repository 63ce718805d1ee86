//! What a WAL file's sample records are XOR'd against: the last value
//! logged for each series ref earlier in the same file.
//!
//! Consecutive scrapes of a series mostly repeat a value or change its low
//! bits, so logging `value XOR previous` and dropping its zero bytes takes
//! about a third of the raw eight bytes. The state starts empty in every
//! file (segment or checkpoint), so any file decodes on its own: a reader
//! that starts at a segment needs nothing from the files before it.

use crate::tsdb::u64_map::U64Map;

#[derive(Debug, Default)]
pub(crate) struct ValueBases {
    last: U64Map<u64>,
}

impl ValueBases {
    /// The bits `value` is XOR'd against: the ref's last logged value, or
    /// zero before its first one.
    pub fn base(&self, series_ref: u64) -> u64 {
        self.last.get(&series_ref).copied().unwrap_or(0)
    }

    pub fn set(&mut self, series_ref: u64, bits: u64) {
        self.last.insert(series_ref, bits);
    }

    /// Forgets everything: the next file starts from zero.
    pub fn clear(&mut self) {
        self.last.clear();
        // A segment full of a past burst of series should not pin its map.
        self.last.shrink_to(1024);
    }
}
