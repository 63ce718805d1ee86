//! Why the exemplar store refused an exemplar.

/// Every variant is counted by the store before it is returned, so callers
/// only decide whether to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExemplarError {
    #[error("exemplar storage is off (storage.exemplars.max_exemplars is 0)")]
    Disabled,
    #[error("exemplar label set has {chars} characters, more than the limit of {limit}")]
    LabelSetTooLong { chars: usize, limit: usize },
    #[error("out of order exemplar: older than the newest exemplar of its series")]
    OutOfOrder,
}
