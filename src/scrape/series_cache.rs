//! What one target's scrape loop remembers between scrapes: the series of
//! the last successful scrape that carried no explicit timestamp, i.e. the
//! ones to mark stale when they vanish. Keyed by label hash (as Prometheus's
//! scrape cache is), each kept as one packed byte string rather than a
//! `Labels`: one allocation instead of one per name and value, which at
//! 100k+ series per target was most of the scrape loop's memory.

use std::collections::{HashMap, HashSet};

use crate::model::{Labels, PackedLabels};

#[derive(Clone, Debug, Default)]
pub struct SeriesCache {
    prev: HashMap<u64, PackedLabels>,
}

/// The series one scrape stored, to become the next [`SeriesCache`].
#[derive(Debug, Default)]
pub(super) struct ScrapedSeries {
    seen: HashSet<u64>,
    /// Series not in the cache, packed.
    added: Vec<(u64, PackedLabels)>,
}

impl ScrapedSeries {
    /// Records a stored series; packs its labels only when the cache does
    /// not have it yet.
    pub(super) fn record(&mut self, cache: &SeriesCache, labels: &Labels) {
        let hash = labels.stable_hash();
        if self.seen.insert(hash) && !cache.prev.contains_key(&hash) {
            self.added.push((hash, PackedLabels::new(labels)));
        }
    }

    /// Series this scrape stored that the previous one did not.
    pub(super) fn num_added(&self) -> usize {
        self.added.len()
    }
}

impl SeriesCache {
    /// Every cached series' labels.
    pub(super) fn all(&self) -> impl Iterator<Item = Labels> + '_ {
        self.prev.values().map(PackedLabels::to_labels)
    }

    /// Cached series that `scraped` did not store: the ones to mark stale.
    pub(super) fn gone<'a>(&'a self, scraped: &'a ScrapedSeries) -> impl Iterator<Item = Labels> + 'a {
        self.prev
            .iter()
            .filter(|(h, _)| !scraped.seen.contains(h))
            .map(|(_, p)| p.to_labels())
    }

    /// Makes `scraped` the cache's content.
    pub(super) fn replace(&mut self, scraped: ScrapedSeries) {
        self.prev.retain(|h, _| scraped.seen.contains(h));
        self.prev.extend(scraped.added);
    }

    pub(super) fn clear(&mut self) {
        self.prev.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_added_and_gone_series() {
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let c = Labels::from_pairs(&[("__name__", "c")]);
        let mut cache = SeriesCache::default();
        let mut first = ScrapedSeries::default();
        first.record(&cache, &a);
        first.record(&cache, &b);
        first.record(&cache, &b);
        assert_eq!(first.num_added(), 2);
        cache.replace(first);
        assert_eq!(cache.all().count(), 2);

        let mut second = ScrapedSeries::default();
        second.record(&cache, &b);
        second.record(&cache, &c);
        assert_eq!(second.num_added(), 1);
        assert_eq!(cache.gone(&second).collect::<Vec<_>>(), vec![a]);
        cache.replace(second);
        let mut all: Vec<Labels> = cache.all().collect();
        all.sort();
        assert_eq!(all, vec![b, c]);
        cache.clear();
        assert_eq!(cache.all().count(), 0);
    }
}
