//! What one target's scrape loop remembers between scrapes: the series of
//! the last successful scrape that carried no explicit timestamp, i.e. the
//! ones to mark stale when they vanish, each with its storage ref so the
//! next scrape appends by ref instead of having the store find the series
//! by its labels again (as Prometheus's scrape cache does). Keyed by label
//! hash, each kept as one packed byte string rather than a `Labels`: one
//! allocation instead of one per name and value, which at 100k+ series per
//! target was most of the scrape loop's memory.

use std::collections::{HashMap, HashSet};

use crate::model::{Labels, PackedLabels};
use crate::tsdb::SeriesRef;

#[derive(Clone, Debug, Default)]
pub struct SeriesCache {
    prev: HashMap<u64, (PackedLabels, SeriesRef)>,
}

/// The series one scrape stored, to become the next [`SeriesCache`].
#[derive(Debug, Default)]
pub(super) struct ScrapedSeries {
    seen: HashSet<u64>,
    /// Series not in the cache, packed.
    added: Vec<(u64, PackedLabels, SeriesRef)>,
    /// Cached series the store now knows by another ref.
    moved: Vec<(u64, SeriesRef)>,
}

impl ScrapedSeries {
    /// Records a stored series (`hash` is its `stable_hash`) and its ref;
    /// packs its labels only when the cache does not have it yet.
    pub(super) fn record(&mut self, cache: &SeriesCache, hash: u64, labels: &Labels, r: SeriesRef) {
        if !self.seen.insert(hash) {
            return;
        }
        match cache.prev.get(&hash) {
            Some((_, known)) if *known == r => {}
            Some(_) => self.moved.push((hash, r)),
            None => self.added.push((hash, PackedLabels::new(labels), r)),
        }
    }

    /// Series this scrape stored that the previous one did not.
    pub(super) fn num_added(&self) -> usize {
        self.added.len()
    }
}

impl SeriesCache {
    /// The ref of the cached series with these labels (`hash` is their
    /// `stable_hash`); the labels are compared, so a hash collision misses.
    pub(super) fn get(&self, hash: u64, labels: &Labels) -> Option<SeriesRef> {
        let (packed, r) = self.prev.get(&hash)?;
        packed.matches(labels).then_some(*r)
    }

    /// Every cached series.
    pub(super) fn all(&self) -> impl Iterator<Item = (&PackedLabels, SeriesRef)> + '_ {
        self.prev.values().map(|(p, r)| (p, *r))
    }

    /// Cached series that `scraped` did not store: the ones to mark stale.
    pub(super) fn gone<'a>(
        &'a self,
        scraped: &'a ScrapedSeries,
    ) -> impl Iterator<Item = (&'a PackedLabels, SeriesRef)> + 'a {
        self.prev
            .iter()
            .filter(|(h, _)| !scraped.seen.contains(h))
            .map(|(_, (p, r))| (p, *r))
    }

    /// Makes `scraped` the cache's content.
    pub(super) fn replace(&mut self, scraped: ScrapedSeries) {
        self.prev.retain(|h, _| scraped.seen.contains(h));
        for (h, r) in scraped.moved {
            if let Some(entry) = self.prev.get_mut(&h) {
                entry.1 = r;
            }
        }
        self.prev
            .extend(scraped.added.into_iter().map(|(h, p, r)| (h, (p, r))));
    }

    pub(super) fn clear(&mut self) {
        self.prev.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_added_moved_and_gone_series() {
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let c = Labels::from_pairs(&[("__name__", "c")]);
        let h = |l: &Labels| l.stable_hash();
        let mut cache = SeriesCache::default();
        let mut first = ScrapedSeries::default();
        first.record(&cache, h(&a), &a, SeriesRef(1));
        first.record(&cache, h(&b), &b, SeriesRef(2));
        first.record(&cache, h(&b), &b, SeriesRef(2));
        assert_eq!(first.num_added(), 2);
        cache.replace(first);
        assert_eq!(cache.all().count(), 2);
        assert_eq!(cache.get(h(&b), &b), Some(SeriesRef(2)));
        // A colliding hash with other labels misses.
        assert_eq!(cache.get(h(&b), &a), None);

        let mut second = ScrapedSeries::default();
        second.record(&cache, h(&b), &b, SeriesRef(7));
        second.record(&cache, h(&c), &c, SeriesRef(3));
        assert_eq!(second.num_added(), 1);
        let gone: Vec<_> = cache.gone(&second).map(|(p, r)| (p.to_labels(), r)).collect();
        assert_eq!(gone, vec![(a, SeriesRef(1))]);
        cache.replace(second);
        let mut all: Vec<_> = cache.all().map(|(p, r)| (p.to_labels(), r)).collect();
        all.sort_by_key(|x| x.1.0);
        assert_eq!(all, vec![(c, SeriesRef(3)), (b.clone(), SeriesRef(7))]);
        assert_eq!(cache.get(h(&b), &b), Some(SeriesRef(7)));
        cache.clear();
        assert_eq!(cache.all().count(), 0);
    }
}
