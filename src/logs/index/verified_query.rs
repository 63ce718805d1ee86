//! A query that keeps only the candidates of another query whose stored
//! document passes a check. It makes a value the index holds only
//! approximately (a hash, a word it does not index) exact without the
//! callers knowing: every collector, count and histogram sees only the
//! documents that passed.
//!
//! The check reads the stored document, so it runs on candidates only:
//! inside an intersection, tantivy asks this query about the documents
//! the other clauses already matched (`seek_danger`), never the whole
//! segment. Each check reads a line, so it is taken from the query's
//! [`ReadBudget`]; a spent budget ends the scorer (the caller sees the
//! budget stopped and refuses the query).

use std::fmt;
use std::sync::Arc;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::store::StoreReader;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED, TantivyDocument};

use super::read_budget::ReadBudget;

/// What a stored document must satisfy.
pub type DocCheck = Arc<dyn Fn(&TantivyDocument) -> bool + Send + Sync>;

/// Decompressed doc-store blocks a scorer keeps: candidates come in
/// document order, so neighbours share a block.
const STORE_CACHE_BLOCKS: usize = 2;

pub struct VerifiedQuery {
    candidates: Box<dyn Query>,
    check: DocCheck,
    /// What the check is, for `Debug`.
    what: String,
    budget: Arc<ReadBudget>,
}

impl VerifiedQuery {
    pub fn new(
        candidates: Box<dyn Query>,
        what: impl Into<String>,
        check: DocCheck,
        budget: &Arc<ReadBudget>,
    ) -> VerifiedQuery {
        VerifiedQuery {
            candidates,
            check,
            what: what.into(),
            budget: budget.clone(),
        }
    }
}

impl Clone for VerifiedQuery {
    fn clone(&self) -> Self {
        VerifiedQuery {
            candidates: self.candidates.box_clone(),
            check: self.check.clone(),
            what: self.what.clone(),
            budget: self.budget.clone(),
        }
    }
}

impl fmt::Debug for VerifiedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verified({:?}, {})", self.candidates, self.what)
    }
}

impl Query for VerifiedQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(VerifiedWeight {
            candidates: self.candidates.weight(scoring)?,
            check: self.check.clone(),
            budget: self.budget.clone(),
        }))
    }
}

struct VerifiedWeight {
    candidates: Box<dyn Weight>,
    check: DocCheck,
    budget: Arc<ReadBudget>,
}

impl Weight for VerifiedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorer = VerifiedScorer {
            candidates: self.candidates.scorer(reader, boost)?,
            store: reader.get_store_reader(STORE_CACHE_BLOCKS)?,
            check: self.check.clone(),
            budget: self.budget.clone(),
            spent: false,
        };
        let first = scorer.candidates.doc();
        scorer.settle(first);
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("verified against the stored document", 1.0))
    }
}

struct VerifiedScorer {
    candidates: Box<dyn Scorer>,
    store: StoreReader,
    check: DocCheck,
    budget: Arc<ReadBudget>,
    /// The budget ran out: the scorer is at its end whatever the
    /// candidates hold.
    spent: bool,
}

impl VerifiedScorer {
    /// Whether `doc` passes; `false` also when the budget is spent, which
    /// [`Self::spent`] then tells apart.
    fn passes(&mut self, doc: DocId) -> bool {
        if !self.budget.take_line() {
            self.spent = true;
            return false;
        }
        match self.store.get::<TantivyDocument>(doc) {
            Ok(d) => (self.check)(&d),
            Err(e) => {
                tracing::warn!(doc, error = %e, "cannot read a stored log line to check it");
                false
            }
        }
    }

    /// From the current candidate on, the first that passes.
    fn settle(&mut self, mut doc: DocId) -> DocId {
        while doc != TERMINATED && !self.passes(doc) {
            if self.spent {
                return TERMINATED;
            }
            doc = self.candidates.advance();
        }
        doc
    }
}

impl DocSet for VerifiedScorer {
    fn advance(&mut self) -> DocId {
        if self.spent {
            return TERMINATED;
        }
        let doc = self.candidates.advance();
        self.settle(doc)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.spent {
            return TERMINATED;
        }
        let doc = if self.candidates.doc() < target {
            self.candidates.seek(target)
        } else {
            self.candidates.doc()
        };
        self.settle(doc)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        // Only `target` is checked: the intersection calling this has
        // matched it on every other clause. The candidates' own position
        // stays valid, so a later call may resume from it.
        if self.spent {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        let doc = if self.candidates.doc() < target {
            self.candidates.seek(target)
        } else {
            self.candidates.doc()
        };
        if doc == target {
            if self.passes(doc) {
                return SeekDangerResult::Found;
            }
            if self.spent {
                return SeekDangerResult::SeekLowerBound(TERMINATED);
            }
            return SeekDangerResult::SeekLowerBound(target.saturating_add(1).min(TERMINATED));
        }
        SeekDangerResult::SeekLowerBound(doc)
    }

    fn doc(&self) -> DocId {
        if self.spent {
            return TERMINATED;
        }
        self.candidates.doc()
    }

    fn size_hint(&self) -> u32 {
        self.candidates.size_hint()
    }

    fn cost(&self) -> u64 {
        // Reading a stored document costs far more than a posting: put
        // this clause last in an intersection.
        self.candidates.cost().saturating_mul(64)
    }
}

impl Scorer for VerifiedScorer {
    fn score(&mut self) -> Score {
        1.0
    }
}
