//! A template source parsed and checked: every function it calls must
//! exist in the set its use allows, so a typo is refused when the rule or
//! notification file is loaded rather than at send time.

use std::collections::HashMap;

use super::alertmanager;
use super::error::TemplateError;
use super::funcs;
use super::lex;
use super::parse::{self, Arg, Node, Pipeline};

/// Which functions a source may call.
#[derive(Debug, Clone, Copy)]
pub(super) enum Funcs {
    /// Prometheus's, as alert labels and annotations have them.
    Prometheus,
    /// Prometheus's plus Alertmanager's, for notification texts.
    Notification,
}

impl Funcs {
    fn names(self) -> &'static [&'static [&'static str]] {
        match self {
            Funcs::Prometheus => &[funcs::NAMES],
            Funcs::Notification => &[funcs::NAMES, alertmanager::NAMES],
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Source {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
    /// The source has no action at all: expansion is the text itself.
    pub literal: Option<String>,
}

impl Source {
    pub fn parse(src: &str, funcs: Funcs) -> Result<Source, TemplateError> {
        if !src.contains("{{") {
            return Ok(Source {
                root: Vec::new(),
                defines: HashMap::new(),
                literal: Some(src.to_string()),
            });
        }
        let pieces = lex::split(src)?;
        let parsed = parse::parse(src, &pieces)?;
        let names = funcs.names();
        let mut unknown = None;
        for nodes in std::iter::once(&parsed.root).chain(parsed.defines.values()) {
            check_funcs(nodes, names, &mut unknown);
        }
        if let Some(name) = unknown {
            return Err(TemplateError::Parse {
                line: line_of_call(src, &name),
                message: format!("function {name:?} not defined"),
            });
        }
        Ok(Source {
            root: parsed.root,
            defines: parsed.defines,
            literal: None,
        })
    }
}

/// The 1-based line of the first action that mentions `name`.
fn line_of_call(src: &str, name: &str) -> usize {
    let mut at = 0;
    while let Some(open) = src[at..].find("{{") {
        let start = at + open;
        let end = src[start..].find("}}").map_or(src.len(), |e| start + e);
        if src[start..end].contains(name) {
            return src[..start].matches('\n').count() + 1;
        }
        at = end.min(src.len());
        if at >= src.len() {
            break;
        }
    }
    1
}

fn check_funcs(nodes: &[Node], names: &[&[&str]], unknown: &mut Option<String>) {
    for n in nodes {
        match n {
            Node::Action(p) => check_pipe(p, names, unknown),
            Node::If(p, a, b) | Node::Range(p, a, b) | Node::With(p, a, b) => {
                check_pipe(p, names, unknown);
                check_funcs(a, names, unknown);
                check_funcs(b, names, unknown);
            }
            Node::Template(_, Some(p)) => check_pipe(p, names, unknown),
            _ => {}
        }
    }
}

fn check_pipe(p: &Pipeline, names: &[&[&str]], unknown: &mut Option<String>) {
    for cmd in &p.cmds {
        for a in cmd {
            match a {
                Arg::Func(name) if !names.iter().any(|set| set.contains(&name.as_str())) => {
                    unknown.get_or_insert_with(|| name.clone());
                }
                Arg::Sub(inner, _) => check_pipe(inner, names, unknown),
                _ => {}
            }
        }
    }
}

/// Collects the names of `{{ template }}` calls below `nodes`.
pub(super) fn called_templates(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Template(name, _) => out.push(name.clone()),
            Node::If(_, a, b) | Node::Range(_, a, b) | Node::With(_, a, b) => {
                called_templates(a, out);
                called_templates(b, out);
            }
            _ => {}
        }
    }
}
