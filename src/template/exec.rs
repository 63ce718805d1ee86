//! Runs a parsed template: variables and their scopes, dot, pipelines with
//! the piped value as last argument, control structures, and the limits
//! that stop a runaway template (output size, nesting, range length).

use std::collections::HashMap;

use super::alertmanager;
use super::context::Context;
use super::error::TemplateError;
use super::func_error::FuncError;
use super::funcs;
use super::gofmt::value_v;
use super::parse::{Arg, Node, Pipeline};
use super::value::TValue;

/// Output larger than this is refused (a template that loops over a big
/// query result must not eat the server's memory).
const MAX_OUTPUT: usize = 1 << 20;
/// Nested `template` calls deeper than this are refused (recursion).
const MAX_DEPTH: usize = 100;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct Exec<'a> {
    pub defines: &'a HashMap<String, Vec<Node>>,
    /// Definitions shared by a template set (notification template files
    /// and the built-in defaults), looked up after the template's own.
    pub shared: Option<&'a HashMap<String, Vec<Node>>>,
    /// HTML-escape what actions print (Go's html/template, simplified to
    /// one context), except `safeHtml` values.
    pub html: bool,
    pub ctx: &'a Context<'a>,
    pub vars: Vec<(String, TValue)>,
    pub out: String,
    pub depth: usize,
}

fn fail(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

/// Calls a function by name: Prometheus's and Go's first, then
/// Alertmanager's (whose names the parser allows in notifications only).
fn call_func(name: &str, args: Vec<TValue>, ctx: &Context<'_>) -> Result<TValue, TemplateError> {
    let result = if funcs::NAMES.contains(&name) {
        funcs::call(name, args, ctx)
    } else {
        alertmanager::call(name, &args, ctx.now_secs)
            .unwrap_or_else(|| Err(FuncError::NotDefined(name.to_string())))
    };
    result.map_err(|source| TemplateError::Call {
        name: name.to_string(),
        source,
    })
}

impl Exec<'_> {
    pub fn run(&mut self, nodes: &[Node], dot: &TValue) -> Result<(), TemplateError> {
        self.list(nodes, dot).map(|_| ())
    }

    fn list(&mut self, nodes: &[Node], dot: &TValue) -> Result<Flow, TemplateError> {
        for n in nodes {
            match self.node(n, dot)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn scoped(&mut self, nodes: &[Node], dot: &TValue) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let r = self.list(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, n: &Node, dot: &TValue) -> Result<Flow, TemplateError> {
        match n {
            Node::Text(t) => self.write(t)?,
            Node::Action(p) => {
                let v = self.pipeline(p, dot)?;
                if p.decl.is_empty() {
                    let s = print_value(&v);
                    if self.html && !matches!(v, TValue::Html(_)) {
                        let escaped = funcs::html_escape(&s);
                        self.write(&escaped)?;
                    } else {
                        self.write(&s)?;
                    }
                }
            }
            Node::If(p, then, els) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                let r = if v.truthy() {
                    self.list(then, dot)
                } else {
                    self.list(els, dot)
                };
                self.vars.truncate(mark);
                return r;
            }
            Node::With(p, then, els) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                let r = if v.truthy() {
                    self.list(then, &v)
                } else {
                    self.list(els, dot)
                };
                self.vars.truncate(mark);
                return r;
            }
            Node::Range(p, body, els) => return self.range(p, body, els, dot),
            Node::Template(name, p) => {
                let Some(body) = self
                    .defines
                    .get(name)
                    .or_else(|| self.shared.and_then(|s| s.get(name)))
                else {
                    return Err(fail(format!("no such template {name:?}")));
                };
                if self.depth >= MAX_DEPTH {
                    return Err(fail(format!("exceeded maximum template depth ({MAX_DEPTH})")));
                }
                let new_dot = match p {
                    Some(p) => self.pipeline(p, dot)?,
                    None => TValue::Nil,
                };
                // A called template sees only `$` (its dot), as in Go.
                let saved = std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                self.depth += 1;
                let r = self.list(body, &new_dot);
                self.depth -= 1;
                self.vars = saved;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn range(
        &mut self,
        p: &Pipeline,
        body: &[Node],
        els: &[Node],
        dot: &TValue,
    ) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        // The range pipeline's declarations bind per element, not to the value.
        let plain = Pipeline {
            decl: Vec::new(),
            assign: false,
            cmds: p.cmds.clone(),
        };
        let v = self.pipeline(&plain, dot)?;
        let items: Vec<(TValue, TValue)> = match &v {
            TValue::List(l) | TValue::Alerts(l) => l
                .iter()
                .enumerate()
                .map(|(i, x)| (TValue::Int(i as i64), x.clone()))
                .collect(),
            TValue::Kv(m) => m
                .iter()
                .map(|(k, x)| (TValue::str(k.clone()), TValue::str(x.clone())))
                .collect(),
            TValue::Pairs(p) => p
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let pair = TValue::Map(std::sync::Arc::new(
                        [
                            ("Name".to_string(), TValue::str(k.clone())),
                            ("Value".to_string(), TValue::str(v.clone())),
                        ]
                        .into_iter()
                        .collect(),
                    ));
                    (TValue::Int(i as i64), pair)
                })
                .collect(),
            TValue::Map(m) => m
                .iter()
                .map(|(k, x)| (TValue::str(k.clone()), x.clone()))
                .collect(),
            TValue::Int(n) => (0..*n).map(|i| (TValue::Int(i), TValue::Int(i))).collect(),
            TValue::Nil => Vec::new(),
            other => return Err(fail(format!("range can't iterate over {}", value_v(other)))),
        };
        if items.is_empty() {
            let r = self.scoped(els, dot);
            self.vars.truncate(mark);
            return r.map(|_| Flow::Normal);
        }
        for (k, x) in items {
            let inner = self.vars.len();
            match p.decl.as_slice() {
                [] => {}
                [e] => self.vars.push((e.clone(), x.clone())),
                [i, e, ..] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), x.clone()));
                }
            }
            let flow = self.list(body, &x);
            self.vars.truncate(inner);
            match flow? {
                Flow::Break => break,
                Flow::Continue | Flow::Normal => {}
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn write(&mut self, s: &str) -> Result<(), TemplateError> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return Err(TemplateError::TooLarge(MAX_OUTPUT));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &TValue) -> Result<TValue, TemplateError> {
        let mut last: Option<TValue> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last.take())?);
        }
        let v = last.unwrap_or(TValue::Nil);
        for name in &p.decl {
            if p.assign {
                let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) else {
                    return Err(fail(format!("undefined variable: {name}")));
                };
                slot.1 = v.clone();
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        args: &[Arg],
        dot: &TValue,
        piped: Option<TValue>,
    ) -> Result<TValue, TemplateError> {
        let Some(first) = args.first() else {
            return Err(fail("empty command"));
        };
        if let Arg::Func(name) = first {
            if name == "and" || name == "or" {
                return self.and_or(name == "and", &args[1..], dot, piped);
            }
            let mut vals = Vec::with_capacity(args.len());
            for a in &args[1..] {
                vals.push(self.arg(a, dot)?);
            }
            if let Some(p) = piped {
                vals.push(p);
            }
            return call_func(name, vals, self.ctx);
        }
        if args.len() > 1 || piped.is_some() {
            // `.CommonLabels.Remove .GroupLabels.Names`: a method with arguments.
            if let Some(r) = self.method_call(first, &args[1..], dot, piped.clone())? {
                return Ok(r);
            }
            return Err(fail(format!(
                "can't give argument to non-function {}",
                describe(first)
            )));
        }
        self.arg(first, dot)
    }

    /// Calls the method a field chain ends in, with arguments; None when
    /// the chain's last element is not a method of its receiver.
    fn method_call(
        &mut self,
        first: &Arg,
        args: &[Arg],
        dot: &TValue,
        piped: Option<TValue>,
    ) -> Result<Option<TValue>, TemplateError> {
        let (base, path) = match first {
            Arg::Field(path) => (dot.clone(), path.as_slice()),
            Arg::Var(name, path) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return Err(fail(format!("undefined variable: {name}")));
                };
                (v.clone(), path.as_slice())
            }
            _ => return Ok(None),
        };
        let Some((method, receiver_path)) = path.split_last() else {
            return Ok(None);
        };
        let receiver = walk(base, receiver_path)?;
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(a, dot)?);
        }
        if let Some(p) = piped {
            vals.push(p);
        }
        match alertmanager::call_method(&receiver, method, &vals) {
            None => Ok(None),
            Some(r) => r.map(Some).map_err(|source| TemplateError::Call {
                name: method.to_string(),
                source,
            }),
        }
    }

    /// `and`/`or` stop at the first deciding argument, as Go's do.
    fn and_or(
        &mut self,
        is_and: bool,
        args: &[Arg],
        dot: &TValue,
        piped: Option<TValue>,
    ) -> Result<TValue, TemplateError> {
        if args.is_empty() && piped.is_none() {
            return Err(fail("wrong number of args: want at least 1 got 0"));
        }
        let mut last = TValue::Nil;
        for a in args {
            last = self.arg(a, dot)?;
            if last.truthy() != is_and {
                return Ok(last);
            }
        }
        if let Some(p) = piped {
            last = p;
        }
        Ok(last)
    }

    fn arg(&mut self, a: &Arg, dot: &TValue) -> Result<TValue, TemplateError> {
        match a {
            Arg::Field(path) => walk(dot.clone(), path),
            Arg::Var(name, path) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return Err(fail(format!("undefined variable: {name}")));
                };
                walk(v.clone(), path)
            }
            Arg::Func(name) => call_func(name, Vec::new(), self.ctx),
            Arg::Str(s) => Ok(TValue::str(s.clone())),
            Arg::Num(v, true) => Ok(TValue::Int(*v as i64)),
            Arg::Num(v, false) => Ok(TValue::Float(*v)),
            Arg::Bool(b) => Ok(TValue::Bool(*b)),
            Arg::Nil => Err(fail("nil is not a command")),
            Arg::Sub(p, path) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot);
                self.vars.truncate(mark);
                walk(v?, path)
            }
        }
    }
}

fn describe(a: &Arg) -> String {
    match a {
        Arg::Field(p) => format!(".{}", p.join(".")),
        Arg::Var(n, _) => n.clone(),
        Arg::Str(s) => format!("{s:?}"),
        Arg::Num(v, _) => v.to_string(),
        Arg::Bool(b) => b.to_string(),
        _ => "value".to_string(),
    }
}

fn walk(mut v: TValue, path: &[String]) -> Result<TValue, TemplateError> {
    for field in path {
        // Methods come before data, as in Go.
        if let Some(r) = alertmanager::method(&v, field) {
            v = r.map_err(TemplateError::Method)?;
            continue;
        }
        v = match &v {
            TValue::Map(m) => m.get(field).cloned().unwrap_or_else(|| TValue::str("")),
            TValue::Kv(m) => TValue::str(m.get(field).cloned().unwrap_or_default()),
            TValue::Sample(s) => match field.as_str() {
                "Labels" => TValue::string_map(s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                "Value" => TValue::Float(s.value),
                _ => {
                    return Err(fail(format!(
                        "can't evaluate field {field} in type *template.sample"
                    )));
                }
            },
            TValue::Nil => return Err(fail(format!("nil pointer evaluating .{field}"))),
            other => {
                return Err(fail(format!(
                    "can't evaluate field {field} in type {}",
                    match other {
                        TValue::Str(_) => "string",
                        TValue::Float(_) => "float64",
                        TValue::Int(_) => "int",
                        TValue::Bool(_) => "bool",
                        _ => "value",
                    }
                )));
            }
        };
    }
    Ok(v)
}

/// What an action prints: Go's `%v`, and `<no value>` for nil.
fn print_value(v: &TValue) -> String {
    match v {
        TValue::Nil => "<no value>".to_string(),
        other => value_v(other),
    }
}
