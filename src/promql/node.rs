//! The identity of a syntax-tree node during one query: its address. The
//! tree is parsed once and neither moved nor changed while the query runs,
//! so the address names the node for the plan and the caches without
//! numbering the tree.

use promql_parser::parser::{AggregateExpr, Expr, VectorSelector};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeId(usize);

impl NodeId {
    /// An expression node (what precomputed results and shared
    /// subexpressions are keyed by).
    pub fn of_expr(e: &Expr) -> Self {
        NodeId(e as *const Expr as usize)
    }

    /// A selector, also the one inside a matrix selector (what spans and
    /// selector caches are keyed by).
    pub fn of_selector(vs: &VectorSelector) -> Self {
        NodeId(vs as *const VectorSelector as usize)
    }

    /// An aggregation (what its group keys are kept by).
    pub fn of_aggregation(a: &AggregateExpr) -> Self {
        NodeId(a as *const AggregateExpr as usize)
    }
}
