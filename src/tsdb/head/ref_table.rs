//! Head series by ref, for appenders that name series by [`SeriesRef`]:
//! pages of write-once slots behind an immutable directory. An appender
//! takes a snapshot of the directory once per batch (one lock), then finds
//! each series with plain loads, where a map behind the index lock cost
//! two contended atomic operations per sample.
//!
//! Changed only under the index's write lock: a new series fills its slot
//! in place (or adds a page, copying the directory); removed series leave
//! by copying their pages without them, so snapshots taken earlier keep
//! what they hold alive until dropped.
//!
//! [`SeriesRef`]: crate::tsdb::SeriesRef

use std::sync::{Arc, OnceLock};

use super::MemSeries;

const PAGE_BITS: u32 = 12;
const PAGE_SLOTS: usize = 1 << PAGE_BITS;

type Page = Arc<[OnceLock<Arc<MemSeries>>]>;

/// One version of the directory; cheap to share as `Arc<RefTable>`.
#[derive(Clone, Default)]
pub(crate) struct RefTable {
    /// `None` for pages whose series are all gone (or never came).
    pages: Vec<Option<Page>>,
}

fn split(r: u64) -> Option<(usize, usize)> {
    let page = usize::try_from(r >> PAGE_BITS).ok()?;
    Some((page, (r as usize) & (PAGE_SLOTS - 1)))
}

fn new_page() -> Page {
    (0..PAGE_SLOTS).map(|_| OnceLock::new()).collect()
}

impl RefTable {
    pub(crate) fn get(&self, r: u64) -> Option<&Arc<MemSeries>> {
        let (page, slot) = split(r)?;
        self.pages.get(page)?.as_ref()?[slot].get()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<MemSeries>> {
        self.pages
            .iter()
            .flatten()
            .flat_map(|p| p.iter().filter_map(OnceLock::get))
    }
}

/// The head's current directory.
#[derive(Default)]
pub(crate) struct RefTables {
    current: Arc<RefTable>,
}

impl RefTables {
    pub(crate) fn current(&self) -> &RefTable {
        &self.current
    }

    pub(crate) fn snapshot(&self) -> Arc<RefTable> {
        self.current.clone()
    }

    /// Adds a series under its ref, which no series had before.
    pub(crate) fn insert(&mut self, series: Arc<MemSeries>) {
        let Some((page, slot)) = split(series.series_ref) else {
            return;
        };
        if self.current.pages.get(page).is_none_or(Option::is_none) {
            let mut next = (*self.current).clone();
            if next.pages.len() <= page {
                next.pages.resize(page + 1, None);
            }
            next.pages[page] = Some(new_page());
            self.current = Arc::new(next);
        }
        if let Some(p) = &self.current.pages[page] {
            // Refs are never reused, so the slot is empty.
            let taken = p[slot].set(series).is_err();
            debug_assert!(!taken, "series ref handed out twice");
        }
    }

    /// Drops the series with these refs: their pages are copied without
    /// them (dropped when empty), in one new directory.
    pub(crate) fn remove(&mut self, refs: &[u64]) {
        let mut by_page: Vec<(usize, usize)> = refs.iter().filter_map(|&r| split(r)).collect();
        if by_page.is_empty() {
            return;
        }
        by_page.sort_unstable();
        let mut next = (*self.current).clone();
        for group in by_page.chunk_by(|a, b| a.0 == b.0) {
            let page = group[0].0;
            let Some(Some(old)) = next.pages.get(page) else {
                continue;
            };
            let fresh = new_page();
            let mut kept = 0;
            for (slot, s) in old.iter().enumerate() {
                let Some(series) = s.get() else { continue };
                if group.binary_search(&(page, slot)).is_ok() {
                    continue;
                }
                let _ = fresh[slot].set(series.clone());
                kept += 1;
            }
            next.pages[page] = (kept > 0).then_some(fresh);
        }
        while next.pages.last().is_some_and(Option::is_none) {
            next.pages.pop();
        }
        self.current = Arc::new(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(r: u64) -> Arc<MemSeries> {
        Arc::new(MemSeries {
            series_ref: r,
            hash: 0,
            pairs: Box::new([]),
            published: super::super::Published::default(),
            state: Default::default(),
        })
    }

    #[test]
    fn snapshots_keep_what_they_saw() {
        let mut t = RefTables::default();
        t.insert(series(1));
        t.insert(series(5000));
        let before = t.snapshot();
        t.insert(series(2));
        t.remove(&[1, 5000]);
        // Pages that existed when the snapshot was taken see new series.
        assert_eq!(before.get(2).map(|s| s.series_ref), Some(2));
        assert_eq!(before.get(1).map(|s| s.series_ref), Some(1));
        assert_eq!(before.get(5000).map(|s| s.series_ref), Some(5000));
        assert!(t.current().get(1).is_none());
        assert!(t.current().get(5000).is_none());
        assert_eq!(
            t.current().iter().map(|s| s.series_ref).collect::<Vec<_>>(),
            vec![2]
        );
        assert!(t.current().get(u64::MAX).is_none());
        t.remove(&[2]);
        assert_eq!(t.current().iter().count(), 0);
    }
}
