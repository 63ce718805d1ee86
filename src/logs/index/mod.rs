//! The logs index: one tantivy index per UTC day under
//! `<data-dir>/logs/index/YYYY-MM-DD/`, its schema, and search.

mod day;
mod days;
mod fields;
mod hashed;
mod read_budget;
mod search;
mod snapshot;
mod verified_query;
mod words;

pub use day::{DayIndex, INDEX_FORMAT_VERSION, META_FILE, day_name, day_of, day_start_ns, dir_bytes};
pub use days::DayIndexes;
pub use fields::{LogFields, LogLine, value_hash};
pub use hashed::{exact_is, exact_where};
pub use read_budget::{BudgetStop, ReadBudget};
pub use search::{Filter, HistogramBucket, MAX_LIMIT, SearchQuery, SearchResult, context, search};
pub use snapshot::DayCopy;
pub use words::{ID_MARK, LONG_MARK, marks_around, word_mark};
