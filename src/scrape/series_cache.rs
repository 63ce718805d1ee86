//! What one target's scrape loop remembers between scrapes: the series of
//! the last successful scrape that carried no explicit timestamp, i.e. the
//! ones to mark stale when they vanish, each with its storage ref so the
//! next scrape appends by ref instead of having the store find the series
//! by its labels again (as Prometheus's scrape cache does).
//!
//! A series is known by a 128-bit hash of its labels, never by the labels:
//! the store holds them already, and a second copy per series was a tenth
//! of Belfry's memory at 100k+ series per target. Staleness markers need
//! only the ref; a series the store no longer knows (retention dropped it)
//! has nothing recent to mark.

use std::collections::{HashMap, HashSet};

use crate::tsdb::SeriesRef;

/// A series' identity: the two halves of [`Labels::identity_hash`]; the
/// low half keys the maps, the high half confirms a match.
///
/// [`Labels::identity_hash`]: crate::model::Labels::identity_hash
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SeriesKey {
    slot: u64,
    check: u64,
}

impl SeriesKey {
    pub(super) fn new(identity_hash: u128) -> Self {
        SeriesKey {
            slot: identity_hash as u64,
            check: (identity_hash >> 64) as u64,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SeriesCache {
    /// By `SeriesKey::slot`: the key's check half and the series' ref.
    prev: HashMap<u64, (u64, SeriesRef)>,
}

/// The series one scrape stored, to become the next [`SeriesCache`].
#[derive(Debug, Default)]
pub(super) struct ScrapedSeries {
    seen: HashSet<u64>,
    /// Series not in the cache.
    added: Vec<(SeriesKey, SeriesRef)>,
    /// Cached series the store now knows by another ref.
    moved: Vec<(u64, SeriesRef)>,
}

impl ScrapedSeries {
    /// Records a stored series and its ref.
    pub(super) fn record(&mut self, cache: &SeriesCache, key: SeriesKey, r: SeriesRef) {
        if !self.seen.insert(key.slot) {
            return;
        }
        match cache.prev.get(&key.slot) {
            Some(&(check, known)) if check == key.check && known == r => {}
            Some(&(check, _)) if check == key.check => self.moved.push((key.slot, r)),
            _ => self.added.push((key, r)),
        }
    }

    /// Series this scrape stored that the previous one did not.
    pub(super) fn num_added(&self) -> usize {
        self.added.len()
    }
}

impl SeriesCache {
    /// The ref of the cached series with this key.
    pub(super) fn get(&self, key: SeriesKey) -> Option<SeriesRef> {
        let &(check, r) = self.prev.get(&key.slot)?;
        (check == key.check).then_some(r)
    }

    /// Every cached series' ref.
    pub(super) fn all(&self) -> impl Iterator<Item = SeriesRef> + '_ {
        self.prev.values().map(|&(_, r)| r)
    }

    /// Cached series that `scraped` did not store: the ones to mark stale.
    pub(super) fn gone<'a>(&'a self, scraped: &'a ScrapedSeries) -> impl Iterator<Item = SeriesRef> + 'a {
        self.prev
            .iter()
            .filter(|(slot, _)| !scraped.seen.contains(slot))
            .map(|(_, &(_, r))| r)
    }

    /// Makes `scraped` the cache's content.
    pub(super) fn replace(&mut self, scraped: ScrapedSeries) {
        self.prev.retain(|slot, _| scraped.seen.contains(slot));
        for (slot, r) in scraped.moved {
            if let Some(entry) = self.prev.get_mut(&slot) {
                entry.1 = r;
            }
        }
        self.prev
            .extend(scraped.added.into_iter().map(|(k, r)| (k.slot, (k.check, r))));
    }

    pub(super) fn clear(&mut self) {
        self.prev.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    #[test]
    fn tracks_added_moved_and_gone_series() {
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let c = Labels::from_pairs(&[("__name__", "c")]);
        let k = |l: &Labels| SeriesKey::new(l.identity_hash());
        let mut cache = SeriesCache::default();
        let mut first = ScrapedSeries::default();
        first.record(&cache, k(&a), SeriesRef(1));
        first.record(&cache, k(&b), SeriesRef(2));
        first.record(&cache, k(&b), SeriesRef(2));
        assert_eq!(first.num_added(), 2);
        cache.replace(first);
        assert_eq!(cache.all().count(), 2);
        assert_eq!(cache.get(k(&b)), Some(SeriesRef(2)));
        // Same slot, other check half: a miss, not another series' ref.
        let forged = SeriesKey {
            slot: k(&b).slot,
            check: k(&b).check ^ 1,
        };
        assert_eq!(cache.get(forged), None);

        let mut second = ScrapedSeries::default();
        second.record(&cache, k(&b), SeriesRef(7));
        second.record(&cache, k(&c), SeriesRef(3));
        assert_eq!(second.num_added(), 1);
        let gone: Vec<_> = cache.gone(&second).collect();
        assert_eq!(gone, vec![SeriesRef(1)]);
        cache.replace(second);
        let mut all: Vec<_> = cache.all().collect();
        all.sort_by_key(|r| r.0);
        assert_eq!(all, vec![SeriesRef(3), SeriesRef(7)]);
        assert_eq!(cache.get(k(&b)), Some(SeriesRef(7)));
        cache.clear();
        assert_eq!(cache.all().count(), 0);
    }
}
