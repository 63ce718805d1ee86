//! Warnings and infos a query raises, rendered as Prometheus renders them:
//! `PromQL warning: <text> (L:C)`. The position is that of the annotated
//! node in the query text, found by [`Annotations::position`].

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    pub fn warn(&mut self, text: String, pos: (usize, usize)) {
        let s = format!("PromQL warning: {text} ({}:{})", pos.0, pos.1);
        if !self.warnings.contains(&s) {
            self.warnings.push(s);
        }
    }

    pub fn info(&mut self, text: String, pos: (usize, usize)) {
        let s = format!("PromQL info: {text} ({}:{})", pos.0, pos.1);
        if !self.infos.contains(&s) {
            self.infos.push(s);
        }
    }

    pub fn merge(&mut self, other: Annotations) {
        for w in other.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        for i in other.infos {
            if !self.infos.contains(&i) {
                self.infos.push(i);
            }
        }
    }

    /// 1-based line and column of the first occurrence of `needle` in the
    /// query (the parser does not keep positions, so the node's own text is
    /// searched for); `(1, 1)` when it cannot be found.
    pub fn position(query: &str, needle: &str) -> (usize, usize) {
        let Some(off) = query.find(needle) else {
            return (1, 1);
        };
        let before = &query[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
        (line, col)
    }
}
