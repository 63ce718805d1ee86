//! Where a batchable subtree's result goes, one series at a time: labels,
//! whether the name is to be dropped, and its (step time, value) points.
//! The points are the producer's buffer: a sink copies what it keeps, and
//! counts it.

use std::sync::Arc;

use crate::model::Labels;
use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;

pub(super) type Sink<'s> =
    dyn FnMut(&mut EvalContext, &Arc<Labels>, bool, &[(i64, f64)]) -> Result<(), PromqlError> + 's;
