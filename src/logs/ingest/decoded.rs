//! What every decoder returns: the entries it could read and, for each item
//! it could not, where that item was and why.

/// A decoded batch.
#[derive(Debug)]
pub struct Decoded<E> {
    pub entries: Vec<crate::logs::Entry>,
    pub rejected: Vec<Rejected<E>>,
}

impl<E> Default for Decoded<E> {
    fn default() -> Self {
        Decoded {
            entries: Vec::new(),
            rejected: Vec::new(),
        }
    }
}

/// One refused item: `item` is its 0-based place in the batch in the
/// protocol's own unit (a Loki stream, a bulk action, a syslog frame…);
/// the error says which unit.
#[derive(Debug, PartialEq)]
pub struct Rejected<E> {
    pub item: usize,
    pub error: E,
}

impl<E> Decoded<E> {
    pub fn reject(&mut self, item: usize, error: E) {
        self.rejected.push(Rejected { item, error });
    }
}
