//! Matcher evaluation over postings.
//!
//! Every matcher reduces to one rule: when it matches the empty string
//! (so series *without* the label match too), take all series minus those
//! whose value does not match; otherwise take the union of the values that
//! match. `=` with a non-empty value is a direct lookup.

use roaring::RoaringTreemap;

use crate::model::{MatchOp, Matcher};

use super::LabelIndex;

impl LabelIndex {
    /// Refs of series matching every matcher; all series when none given.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> RoaringTreemap {
        // Positive (non-empty-matching) matchers first: they are the
        // selective ones and shrink the set before subtractions.
        let mut ordered: Vec<&Matcher> = matchers.iter().collect();
        ordered.sort_by_key(|m| m.matches_empty());
        let mut result: Option<RoaringTreemap> = None;
        for m in ordered {
            if result.as_ref().is_some_and(|r| r.is_empty()) {
                break;
            }
            if m.matches_empty() {
                let excluded = self.union_where(&m.name, |v| !m.matches(v));
                let base = result.take().unwrap_or_else(|| self.postings.all().clone());
                result = Some(base - excluded);
            } else {
                let matched = self.matching(m);
                result = Some(match result.take() {
                    Some(r) => r & matched,
                    None => matched,
                });
            }
        }
        result.unwrap_or_else(|| self.postings.all().clone())
    }

    fn matching(&self, m: &Matcher) -> RoaringTreemap {
        if m.op == MatchOp::Equal {
            let (Some(n), Some(v)) = (self.symbols.get(&m.name), self.symbols.get(&m.value)) else {
                return RoaringTreemap::new();
            };
            return self.postings.get(n, v).cloned().unwrap_or_default();
        }
        self.union_where(&m.name, |v| m.matches(v))
    }

    fn union_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> RoaringTreemap {
        let mut out = RoaringTreemap::new();
        let Some(n) = self.symbols.get(name) else {
            return out;
        };
        for (v, bitmap) in self.postings.values(n) {
            if keep(self.symbols.resolve(v)) {
                out |= bitmap;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Labels, MatchOp, Matcher};

    use super::super::LabelIndex;

    fn index() -> LabelIndex {
        let mut idx = LabelIndex::default();
        idx.add_series(1, &Labels::from_pairs(&[("__name__", "up"), ("job", "api")]));
        idx.add_series(2, &Labels::from_pairs(&[("__name__", "up"), ("job", "db")]));
        idx.add_series(3, &Labels::from_pairs(&[("__name__", "up")]));
        idx.add_series(4, &Labels::from_pairs(&[("__name__", "other"), ("job", "api")]));
        idx
    }

    fn refs(idx: &LabelIndex, ms: &[Matcher]) -> Vec<u64> {
        idx.select(ms).iter().collect()
    }

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    #[test]
    fn every_matcher_kind() {
        let idx = index();
        let up = m(MatchOp::Equal, "__name__", "up");
        assert_eq!(refs(&idx, std::slice::from_ref(&up)), vec![1, 2, 3]);
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::Equal, "job", "api")]),
            vec![1]
        );
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::NotEqual, "job", "api")]),
            vec![2, 3]
        );
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::Regex, "job", "a.*|d.")]),
            vec![1, 2]
        );
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::NotRegex, "job", "a.*")]),
            vec![2, 3]
        );
        // Matchers that match the empty string select series without the label.
        assert_eq!(refs(&idx, &[up.clone(), m(MatchOp::Equal, "job", "")]), vec![3]);
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::Regex, "job", "api|")]),
            vec![1, 3]
        );
        assert_eq!(
            refs(&idx, &[up.clone(), m(MatchOp::NotEqual, "job", "")]),
            vec![1, 2]
        );
        assert_eq!(refs(&idx, &[m(MatchOp::Equal, "nope", "x")]), Vec::<u64>::new());
        assert_eq!(refs(&idx, &[]), vec![1, 2, 3, 4]);
    }
}
