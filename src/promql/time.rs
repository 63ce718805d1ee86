//! Times in milliseconds from the syntax tree's durations, offsets and `@`
//! modifiers, in one place for the planner, the per-step evaluator and the
//! evaluation over all steps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Offset};

pub(crate) fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

pub(crate) fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The top-level query's bounds, which `@ start()` and `@ end()` name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryBounds {
    pub start: i64,
    pub end: i64,
}

impl QueryBounds {
    /// The time a node with this `@` modifier is evaluated at, when the
    /// step asks for `ts`.
    pub fn at_time(&self, at: &Option<AtModifier>, ts: i64) -> i64 {
        match at {
            None => ts,
            Some(at) => self.fixed_time(at),
        }
    }

    /// The one time an `@` modifier pins its node to.
    pub fn fixed_time(&self, at: &AtModifier) -> i64 {
        match at {
            AtModifier::Start => self.start,
            AtModifier::End => self.end,
            AtModifier::At(t) => system_time_ms(t),
        }
    }
}
