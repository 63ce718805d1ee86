//! Builds the template tree from the lexed pieces: pipelines and commands,
//! `if`/`else if`/`else`, `range` (with `break`/`continue`), `with`,
//! `define`/`template`/`block`, variable declaration and assignment.

use std::collections::HashMap;

use super::error::TemplateError;
use super::lex::{Piece, Tok};

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    /// Prints the pipeline's value unless it declares variables.
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Template(String, Option<Pipeline>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    pub decl: Vec<String>,
    /// `$x = …` rather than `$x := …`.
    pub assign: bool,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
pub(super) enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Num(f64, bool),
    Bool(bool),
    Nil,
    Sub(Box<Pipeline>, Vec<String>),
}

pub(super) struct Parsed {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

/// How a list of nodes ended.
enum End {
    Eof,
    Close,
    Else(Vec<Tok>),
}

struct Parser<'a> {
    pieces: &'a [Piece],
    at: usize,
    defines: HashMap<String, Vec<Node>>,
    range_depth: usize,
    src: &'a str,
}

pub(super) fn parse(src: &str, pieces: &[Piece]) -> Result<Parsed, TemplateError> {
    let mut p = Parser {
        pieces,
        at: 0,
        defines: HashMap::new(),
        range_depth: 0,
        src,
    };
    let (root, end) = p.list()?;
    match end {
        End::Eof => Ok(Parsed {
            root,
            defines: p.defines,
        }),
        End::Close => Err(p.err("unexpected {{end}}")),
        End::Else(_) => Err(p.err("unexpected {{else}}")),
    }
}

impl Parser<'_> {
    fn err(&self, msg: impl Into<String>) -> TemplateError {
        let pos = match self.pieces.get(self.at.saturating_sub(1)) {
            Some(Piece::Action { pos, .. }) => *pos,
            _ => 0,
        };
        TemplateError::Parse {
            line: self.src[..pos.min(self.src.len())].matches('\n').count() + 1,
            message: msg.into(),
        }
    }

    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        while self.at < self.pieces.len() {
            let piece = &self.pieces[self.at];
            self.at += 1;
            let toks = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t.clone()));
                    continue;
                }
                Piece::Action { toks, .. } => toks.clone(),
            };
            let keyword = match toks.first() {
                Some(Tok::Ident(k)) => k.as_str(),
                _ => "",
            };
            match keyword {
                "end" => {
                    self.expect_bare(&toks, "end")?;
                    return Ok((nodes, End::Close));
                }
                "else" => return Ok((nodes, End::Else(toks[1..].to_vec()))),
                "if" | "with" => {
                    let pipe = self.pipeline(&toks[1..], keyword)?;
                    let node = self.branch(keyword, pipe)?;
                    nodes.push(node);
                }
                "range" => {
                    let pipe = self.pipeline(&toks[1..], "range")?;
                    self.range_depth += 1;
                    let body = self.list();
                    self.range_depth -= 1;
                    let (body, end) = body?;
                    let els = self.else_part(end, "range")?;
                    nodes.push(Node::Range(pipe, body, els));
                }
                "break" | "continue" => {
                    self.expect_bare(&toks, keyword)?;
                    if self.range_depth == 0 {
                        return Err(self.err(format!("{{{{{keyword}}}}} outside {{{{range}}}}")));
                    }
                    nodes.push(if keyword == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" => {
                    let name = self.template_name(&toks, "define")?;
                    if toks.len() != 2 {
                        return Err(self.err("unexpected tokens in define clause"));
                    }
                    let (body, end) = self.list()?;
                    if !matches!(end, End::Close) {
                        return Err(self.err("unexpected {{else}} in define"));
                    }
                    self.defines.insert(name, body);
                }
                "template" | "block" => {
                    let name = self.template_name(&toks, keyword)?;
                    let pipe = if toks.len() > 2 {
                        Some(self.pipeline(&toks[2..], keyword)?)
                    } else {
                        None
                    };
                    if keyword == "block" {
                        let (body, end) = self.list()?;
                        if !matches!(end, End::Close) {
                            return Err(self.err("unexpected {{else}} in block"));
                        }
                        self.defines.entry(name.clone()).or_insert(body);
                    }
                    nodes.push(Node::Template(name, pipe));
                }
                _ => {
                    let pipe = self.pipeline(&toks, "command")?;
                    nodes.push(Node::Action(pipe));
                }
            }
        }
        Ok((nodes, End::Eof))
    }

    fn expect_bare(&self, toks: &[Tok], what: &str) -> Result<(), TemplateError> {
        if toks.len() != 1 {
            return Err(self.err(format!("unexpected tokens after {{{{{what}}}}}")));
        }
        Ok(())
    }

    fn template_name(&self, toks: &[Tok], what: &str) -> Result<String, TemplateError> {
        match toks.get(1) {
            Some(Tok::Str(s)) => Ok(s.clone()),
            _ => Err(self.err(format!("{what}: expected a quoted template name"))),
        }
    }

    /// `if`/`with` bodies, with `else` and `else if`/`else with` chains.
    fn branch(&mut self, keyword: &str, pipe: Pipeline) -> Result<Node, TemplateError> {
        let (body, end) = self.list()?;
        let els = self.else_part(end, keyword)?;
        Ok(match keyword {
            "if" => Node::If(pipe, body, els),
            _ => Node::With(pipe, body, els),
        })
    }

    fn else_part(&mut self, end: End, keyword: &str) -> Result<Vec<Node>, TemplateError> {
        match end {
            End::Eof => Err(self.err(format!("unexpected EOF: {{{{{keyword}}}}} has no {{{{end}}}}"))),
            End::Close => Ok(Vec::new()),
            End::Else(rest) if rest.is_empty() => {
                let (els, end) = self.list()?;
                match end {
                    End::Close => Ok(els),
                    End::Eof => {
                        Err(self.err(format!("unexpected EOF: {{{{{keyword}}}}} has no {{{{end}}}}")))
                    }
                    End::Else(_) => Err(self.err("expected {{end}} after {{else}}, found another {{else}}")),
                }
            }
            End::Else(rest) => {
                // `else if …` / `else with …`: a nested branch that shares our `end`.
                let kw = match rest.first() {
                    Some(Tok::Ident(k)) if k == "if" || k == "with" => k.clone(),
                    _ => return Err(self.err("unexpected tokens after {{else}}")),
                };
                let pipe = self.pipeline(&rest[1..], &kw)?;
                Ok(vec![self.branch(&kw, pipe)?])
            }
        }
    }

    fn pipeline(&self, toks: &[Tok], context: &str) -> Result<Pipeline, TemplateError> {
        let mut decl = Vec::new();
        let mut assign = false;
        let mut i = 0;
        // `$x :=`, `$x =`, `$i, $e :=`
        let decl_end = toks.iter().position(|t| matches!(t, Tok::Declare | Tok::Assign));
        if let Some(d) = decl_end {
            let vars = &toks[..d];
            let ok = vars.iter().enumerate().all(|(k, t)| match t {
                Tok::Var(_, f) => k % 2 == 0 && f.is_empty(),
                Tok::Comma => k % 2 == 1,
                _ => false,
            });
            if ok && !vars.is_empty() {
                decl = vars
                    .iter()
                    .filter_map(|t| match t {
                        Tok::Var(n, _) => Some(n.clone()),
                        _ => None,
                    })
                    .collect();
                assign = matches!(toks[d], Tok::Assign);
                if decl.len() > 2 || (decl.len() == 2 && context != "range") {
                    return Err(self.err(format!("too many declarations in {context}")));
                }
                i = d + 1;
            }
        }
        let mut cmds = Vec::new();
        let mut cur = Vec::new();
        while i < toks.len() {
            match &toks[i] {
                Tok::Pipe => {
                    if cur.is_empty() {
                        return Err(self.err(format!("missing command in {context}")));
                    }
                    cmds.push(std::mem::take(&mut cur));
                    i += 1;
                }
                Tok::LParen => {
                    let close = matching_paren(toks, i).ok_or_else(|| self.err("unclosed left paren"))?;
                    let inner = self.pipeline(&toks[i + 1..close], "parenthesized pipeline")?;
                    let fields = match &toks[close] {
                        Tok::RParen(f) => f.clone(),
                        _ => Vec::new(),
                    };
                    cur.push(Arg::Sub(Box::new(inner), fields));
                    i = close + 1;
                }
                t => {
                    cur.push(match t {
                        Tok::Ident(n) => Arg::Func(n.clone()),
                        Tok::Field(f) => Arg::Field(f.clone()),
                        Tok::Var(n, f) => Arg::Var(n.clone(), f.clone()),
                        Tok::Str(s) => Arg::Str(s.clone()),
                        Tok::Num(v, int) => Arg::Num(*v, *int),
                        Tok::Bool(b) => Arg::Bool(*b),
                        Tok::Nil => Arg::Nil,
                        Tok::RParen(_) => return Err(self.err("unexpected right paren")),
                        other => return Err(self.err(format!("unexpected {other:?} in {context}"))),
                    });
                    i += 1;
                }
            }
        }
        if cur.is_empty() {
            return Err(self.err(format!("missing value for {context}")));
        }
        cmds.push(cur);
        Ok(Pipeline { decl, assign, cmds })
    }
}

fn matching_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
