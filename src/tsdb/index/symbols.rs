//! The symbol table: every distinct label name and value is stored once and
//! series refer to it by a `u32`, which is what keeps per-series memory low.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct Symbols {
    ids: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Symbols {
    /// The id of `s`, adding it when new.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).expect("more than 2^32 distinct label strings");
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(shared.clone());
        self.ids.insert(shared, id);
        id
    }

    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    pub(crate) fn resolve(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_each_string_once() {
        let mut s = Symbols::default();
        let a = s.intern("job");
        let b = s.intern("api");
        assert_eq!(s.intern("job"), a);
        assert_ne!(a, b);
        assert_eq!(s.resolve(b), "api");
        assert_eq!(s.get("nope"), None);
    }
}
