//! Postings: for each label pair, the bitmap of series refs that carry it,
//! plus the bitmap of all series (what negative matchers subtract from).

use std::collections::HashMap;

use roaring::RoaringTreemap;

#[derive(Default)]
pub(crate) struct Postings {
    by_name: HashMap<u32, HashMap<u32, RoaringTreemap>>,
    all: RoaringTreemap,
}

impl Postings {
    pub(crate) fn add(&mut self, series_ref: u64, pairs: &[(u32, u32)]) {
        self.all.insert(series_ref);
        for &(name, value) in pairs {
            self.by_name
                .entry(name)
                .or_default()
                .entry(value)
                .or_default()
                .insert(series_ref);
        }
    }

    /// Removes a series; pairs and names left without series disappear, so
    /// label name/value queries never list them again.
    pub(crate) fn remove(&mut self, series_ref: u64, pairs: &[(u32, u32)]) {
        self.all.remove(series_ref);
        for &(name, value) in pairs {
            let Some(values) = self.by_name.get_mut(&name) else {
                continue;
            };
            if let Some(bitmap) = values.get_mut(&value) {
                bitmap.remove(series_ref);
                if bitmap.is_empty() {
                    values.remove(&value);
                }
            }
            if values.is_empty() {
                self.by_name.remove(&name);
            }
        }
    }

    pub(crate) fn all(&self) -> &RoaringTreemap {
        &self.all
    }

    pub(crate) fn get(&self, name: u32, value: u32) -> Option<&RoaringTreemap> {
        self.by_name.get(&name)?.get(&value)
    }

    /// Every value of a label name with its series.
    pub(crate) fn values(&self, name: u32) -> impl Iterator<Item = (u32, &RoaringTreemap)> {
        self.by_name
            .get(&name)
            .into_iter()
            .flat_map(|values| values.iter().map(|(v, b)| (*v, b)))
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_name.keys().copied()
    }

    pub(crate) fn num_pairs(&self) -> usize {
        self.by_name.values().map(|v| v.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_keep_bitmaps_tidy() {
        let mut p = Postings::default();
        p.add(1, &[(0, 1), (2, 3)]);
        p.add(2, &[(0, 1)]);
        assert_eq!(p.get(0, 1).unwrap().len(), 2);
        assert_eq!(p.all().len(), 2);
        p.remove(1, &[(0, 1), (2, 3)]);
        assert_eq!(p.get(0, 1).unwrap().len(), 1);
        assert!(p.get(2, 3).is_none());
        assert_eq!(p.names().collect::<Vec<_>>(), vec![0]);
        assert_eq!(p.num_pairs(), 1);
    }
}
