//! The logs index: one tantivy index per UTC day under
//! `<data-dir>/logs/index/YYYY-MM-DD/`, its schema, and search.

mod day;
mod days;
mod fields;
mod search;

pub use day::{DayIndex, INDEX_FORMAT_VERSION, META_FILE, day_name, day_of, day_start_ns, dir_bytes};
pub use days::DayIndexes;
pub use fields::{LogFields, LogLine};
pub use search::{Filter, HistogramBucket, MAX_LIMIT, SearchQuery, SearchResult, context, search};
