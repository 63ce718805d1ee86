//! Go `text/template` as Prometheus uses it for alert labels and
//! annotations: `{{ $value }}`, `{{ $labels.x }}`, `{{ $externalLabels.x }}`,
//! pipelines, `if`/`else`/`range`/`with`/`define`/`template`, Go's builtins
//! and Prometheus's functions (`query`, `humanize*`, `printf`, …).
//!
//! Our own implementation: the one Rust port of Go templates (`gtmpl`,
//! last released 2021) has its own value model, none of Prometheus's
//! functions and not its `missingkey=zero` behaviour, and we need `query`
//! to run on our engine and Go's exact float printing.

mod alertmanager;
mod exec;
mod funcs;
mod gofmt;
mod gotime;
mod lex;
mod parse;
mod set;
mod value;

use std::collections::HashMap;

pub use funcs::{humanize, humanize_duration, humanize1024, query_escape};
pub use gofmt::{float_v as go_float, sprintf};
pub use gotime::format as go_time_format;
pub use set::TemplateSet;
pub use value::{QuerySample, TValue};

use crate::model::Labels;
use parse::{Arg, Node, Pipeline};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("template: {0}")]
    Exec(String),
    #[error("template: output exceeds {0} bytes")]
    TooLarge(usize),
}

/// Runs a PromQL query for a template's `query`.
pub type QueryFn<'a> = dyn Fn(&str) -> Result<Vec<QuerySample>, String> + 'a;

/// What a template may reach outside its data.
pub struct Context<'a> {
    /// Runs `query`; `None` where no engine is at hand (e.g. `check rules`).
    pub query: Option<&'a QueryFn<'a>>,
    pub external_url: &'a str,
    pub path_prefix: &'a str,
    /// Evaluation time in seconds, for `now`.
    pub now_secs: f64,
}

/// The data of one expansion: the alert's labels, the external labels and
/// URL, and the sample value.
pub struct TemplateData<'a> {
    pub labels: &'a Labels,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct Template {
    root: Vec<Node>,
    defines: HashMap<String, Vec<Node>>,
    /// The source has no action at all: expansion is the text itself.
    literal: Option<String>,
}

impl Template {
    /// Parses a template and checks that every function it calls exists
    /// (Prometheus's functions, as alert labels and annotations have them).
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        Template::parse_with(src, &[funcs::NAMES])
    }

    /// Parses a notification template: Prometheus's functions plus
    /// Alertmanager's (`join`, `trimSpace`, `stringSlice`, `date`, `tz`, …).
    pub fn parse_notification(src: &str) -> Result<Template, TemplateError> {
        Template::parse_with(src, &[funcs::NAMES, alertmanager::NAMES])
    }

    fn parse_with(src: &str, names: &[&[&str]]) -> Result<Template, TemplateError> {
        if !src.contains("{{") {
            return Ok(Template {
                root: Vec::new(),
                defines: HashMap::new(),
                literal: Some(src.to_string()),
            });
        }
        let pieces = lex::split(src)?;
        let parsed = parse::parse(src, &pieces)?;
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
        Ok(Template {
            root: parsed.root,
            defines: parsed.defines,
            literal: None,
        })
    }

    /// Runs the template with `dot` as data (notification templates);
    /// `set` supplies the definitions it calls that it does not define
    /// itself; `html` escapes what actions print.
    pub fn execute(
        &self,
        dot: &TValue,
        set: Option<&TemplateSet>,
        ctx: &Context<'_>,
        html: bool,
    ) -> Result<String, TemplateError> {
        if let Some(l) = &self.literal {
            return Ok(l.clone());
        }
        let mut ex = exec::Exec {
            defines: &self.defines,
            shared: set.map(TemplateSet::definitions),
            html,
            ctx,
            vars: vec![("$".to_string(), dot.clone())],
            out: String::new(),
            depth: 0,
        };
        ex.run(&self.root, dot)?;
        Ok(ex.out)
    }

    /// Names this template calls with `{{ template }}` that neither it nor
    /// `set` defines (so a notification never fails on them at send time).
    pub fn missing_templates(&self, set: &TemplateSet) -> Vec<String> {
        let mut called = Vec::new();
        for nodes in std::iter::once(&self.root).chain(self.defines.values()) {
            set::called_templates(nodes, &mut called);
        }
        called.retain(|n| !self.defines.contains_key(n) && !set.contains(n));
        called.sort();
        called.dedup();
        called
    }

    /// Expands with Prometheus's alert data and variables.
    pub fn expand(&self, data: &TemplateData<'_>, ctx: &Context<'_>) -> Result<String, TemplateError> {
        if let Some(l) = &self.literal {
            return Ok(l.clone());
        }
        let labels = labels_value(data.labels);
        let ext = labels_value(data.external_labels);
        let dot = TValue::Map(std::sync::Arc::new(
            [
                ("Labels".to_string(), labels.clone()),
                ("ExternalLabels".to_string(), ext.clone()),
                ("ExternalURL".to_string(), TValue::str(data.external_url)),
                ("Value".to_string(), TValue::Float(data.value)),
            ]
            .into_iter()
            .collect(),
        ));
        let mut ex = exec::Exec {
            defines: &self.defines,
            shared: None,
            html: false,
            ctx,
            vars: vec![
                ("$".to_string(), dot.clone()),
                ("$labels".to_string(), labels),
                ("$externalLabels".to_string(), ext),
                ("$externalURL".to_string(), TValue::str(data.external_url)),
                ("$value".to_string(), TValue::Float(data.value)),
            ],
            out: String::new(),
            depth: 0,
        };
        ex.run(&self.root, &dot)?;
        Ok(ex.out)
    }
}

fn labels_value(l: &Labels) -> TValue {
    TValue::string_map(l.iter().map(|x| (x.name.as_str(), x.value.as_str())))
}

/// Go's `strconv.ParseFloat` for the strings templates convert.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.replace('_', "").parse().ok(),
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

#[cfg(test)]
mod tests;
