//! A set of named templates shared by several notification texts, as
//! Alertmanager's `templates:` files build one: every `{{ define }}` of
//! every source, later sources replacing earlier definitions of a name
//! (user files override the built-in defaults). A source's text outside
//! its definitions is kept under the source's name, as Go's `ParseGlob`
//! names a file's template after the file.

use std::collections::HashMap;

use super::error::TemplateError;
use super::parse::Node;
use super::source::{Funcs, Source, called_templates};

#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    defines: HashMap<String, Vec<Node>>,
}

impl TemplateSet {
    pub fn new() -> TemplateSet {
        TemplateSet::default()
    }

    /// Adds one source's definitions (notification functions allowed);
    /// `name` names its top-level text. Errors carry the source's line.
    pub fn add(&mut self, src: &str, name: &str) -> Result<(), TemplateError> {
        let t = Source::parse(src, Funcs::Notification)?;
        if let Some(text) = &t.literal {
            if !text.trim().is_empty() {
                self.defines
                    .insert(name.to_string(), vec![Node::Text(text.clone())]);
            }
            return Ok(());
        }
        let blank = t
            .root
            .iter()
            .all(|n| matches!(n, Node::Text(s) if s.trim().is_empty()));
        if !blank {
            self.defines.insert(name.to_string(), t.root);
        }
        self.defines.extend(t.defines);
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }

    /// Every defined name, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.defines.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Names called by the set's own definitions that nothing defines.
    pub fn missing_templates(&self) -> Vec<String> {
        let mut called = Vec::new();
        for nodes in self.defines.values() {
            called_templates(nodes, &mut called);
        }
        called.retain(|n| !self.contains(n));
        called.sort();
        called.dedup();
        called
    }

    pub(super) fn definitions(&self) -> &HashMap<String, Vec<Node>> {
        &self.defines
    }
}
