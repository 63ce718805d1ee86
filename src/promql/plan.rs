//! What the engine works out about a query before evaluating it: the time
//! span each selector is read over (so each is selected from storage once),
//! the selectors under a subquery (read at times that go back, so loaded
//! whole rather than streamed), and the subexpressions that occur more
//! than once (computed once per step).

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{Expr, VectorSelector};

use super::node::NodeId;
use super::time::{QueryBounds, duration_ms, offset_ms};

pub(crate) struct QueryPlan {
    /// Per selector, `(mint, maxt)` it is read over.
    spans: HashMap<NodeId, (i64, i64)>,
    /// Selectors under a subquery.
    replayed: HashSet<NodeId>,
    /// Per node whose expression occurs more than once, one id per distinct
    /// expression.
    shared: HashMap<NodeId, usize>,
}

impl QueryPlan {
    pub fn new(expr: &Expr, bounds: QueryBounds, lookback: i64) -> Self {
        let mut spans = HashMap::new();
        plan_spans(
            expr,
            bounds.start,
            bounds.end,
            &SpanCtx { bounds, lookback },
            &mut spans,
        );
        let mut replayed = HashSet::new();
        mark_replayed(expr, false, &mut replayed);
        QueryPlan {
            spans,
            replayed,
            shared: shared_subexpressions(expr),
        }
    }

    /// The span a selector is read over, if the plan saw it.
    pub fn span(&self, vs: &VectorSelector) -> Option<(i64, i64)> {
        self.spans.get(&NodeId::of_selector(vs)).copied()
    }

    pub fn is_replayed(&self, vs: &VectorSelector) -> bool {
        self.replayed.contains(&NodeId::of_selector(vs))
    }

    /// The id of the repeated expression `e` is an occurrence of.
    pub fn shared_id(&self, e: &Expr) -> Option<usize> {
        self.shared.get(&NodeId::of_expr(e)).copied()
    }
}

struct SpanCtx {
    bounds: QueryBounds,
    lookback: i64,
}

/// Records, for each selector node, the time span it will be read over when
/// the expression is evaluated at every time in `[mint, maxt]`, so each is
/// selected from storage once.
fn plan_spans(e: &Expr, mint: i64, maxt: i64, ctx: &SpanCtx, out: &mut HashMap<NodeId, (i64, i64)>) {
    let mut add = |vs: &VectorSelector, back: i64| {
        let (lo, hi) = match &vs.at {
            Some(at) => {
                let t = ctx.bounds.fixed_time(at);
                (t, t)
            }
            None => (mint, maxt),
        };
        let off = offset_ms(&vs.offset);
        let span = (lo - off - back, hi - off);
        out.entry(NodeId::of_selector(vs))
            .and_modify(|s| {
                s.0 = s.0.min(span.0);
                s.1 = s.1.max(span.1);
            })
            .or_insert(span);
    };
    match e {
        Expr::VectorSelector(vs) => add(vs, ctx.lookback),
        Expr::MatrixSelector(ms) => add(&ms.vs, duration_ms(&ms.range)),
        Expr::Subquery(sq) => {
            let (lo, hi) = match &sq.at {
                Some(at) => {
                    let t = ctx.bounds.fixed_time(at);
                    (t, t)
                }
                None => (mint, maxt),
            };
            let off = offset_ms(&sq.offset);
            let range = duration_ms(&sq.range);
            plan_spans(&sq.expr, lo - off - range, hi - off, ctx, out);
        }
        Expr::Paren(p) => plan_spans(&p.expr, mint, maxt, ctx, out),
        Expr::Unary(u) => plan_spans(&u.expr, mint, maxt, ctx, out),
        Expr::Binary(b) => {
            plan_spans(&b.lhs, mint, maxt, ctx, out);
            plan_spans(&b.rhs, mint, maxt, ctx, out);
        }
        Expr::Aggregate(a) => {
            plan_spans(&a.expr, mint, maxt, ctx, out);
            if let Some(p) = &a.param {
                plan_spans(p, mint, maxt, ctx, out);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                plan_spans(a, mint, maxt, ctx, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Records the selector nodes that sit under a subquery.
fn mark_replayed(e: &Expr, under_subquery: bool, out: &mut HashSet<NodeId>) {
    let mut walk = |child: &Expr| mark_replayed(child, under_subquery, out);
    match e {
        Expr::VectorSelector(vs) => {
            if under_subquery {
                out.insert(NodeId::of_selector(vs));
            }
        }
        Expr::MatrixSelector(ms) => {
            if under_subquery {
                out.insert(NodeId::of_selector(&ms.vs));
            }
        }
        Expr::Subquery(sq) => mark_replayed(&sq.expr, true, out),
        Expr::Paren(p) => walk(&p.expr),
        Expr::Unary(u) => walk(&u.expr),
        Expr::Binary(b) => {
            walk(&b.lhs);
            walk(&b.rhs);
        }
        Expr::Aggregate(a) => {
            walk(&a.expr);
            if let Some(p) = &a.param {
                walk(p);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Gives every expression that occurs more than once in the query (by its
/// printed form) an id, keyed by the address of each of its nodes.
pub(crate) fn shared_subexpressions(root: &Expr) -> HashMap<NodeId, usize> {
    fn walk<'e>(e: &'e Expr, out: &mut Vec<(&'e Expr, String)>) {
        match e {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => return,
            Expr::Paren(p) => walk(&p.expr, out),
            Expr::Unary(u) => walk(&u.expr, out),
            Expr::Binary(b) => {
                walk(&b.lhs, out);
                walk(&b.rhs, out);
            }
            Expr::Aggregate(a) => {
                walk(&a.expr, out);
                if let Some(p) = &a.param {
                    walk(p, out);
                }
            }
            Expr::Call(c) => {
                for a in &c.args.args {
                    walk(a, out);
                }
            }
            Expr::Subquery(sq) => walk(&sq.expr, out),
            Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
        }
        if !matches!(e, Expr::Paren(_)) {
            out.push((e, e.to_string()));
        }
    }
    let mut nodes = Vec::new();
    walk(root, &mut nodes);
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, text) in &nodes {
        *count.entry(text.as_str()).or_default() += 1;
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut out = HashMap::new();
    for (e, text) in &nodes {
        if count[text.as_str()] < 2 {
            continue;
        }
        let next = ids.len();
        let id = *ids.entry(text.as_str()).or_insert(next);
        out.insert(NodeId::of_expr(e), id);
    }
    out
}
