//! Reading one series' samples forward a decoded chunk at a time, so the
//! loops over samples make no call per sample.

use crate::tsdb::SampleIter;

/// Reads one series' samples forward a decoded chunk at a time, so the
/// loops over samples make no call per sample.
pub(super) struct Cursor<'b> {
    iter: Box<dyn SampleIter>,
    /// A buffer reused from series to series.
    buf: &'b mut Vec<(i64, f64)>,
    pos: usize,
    pub read: usize,
}

impl<'b> Cursor<'b> {
    pub fn new(iter: Box<dyn SampleIter>, buf: &'b mut Vec<(i64, f64)>) -> Self {
        buf.clear();
        Cursor {
            iter,
            buf,
            pos: 0,
            read: 0,
        }
    }

    #[inline]
    pub fn peek(&mut self) -> Option<(i64, f64)> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.iter.next_batch(self.buf) {
                return None;
            }
            self.read += self.buf.len();
        }
        Some(self.buf[self.pos])
    }

    #[inline]
    pub fn advance(&mut self) {
        self.pos += 1;
    }
}
