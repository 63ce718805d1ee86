//! The logs index: one tantivy index per UTC day under
//! `<data-dir>/logs/index/YYYY-MM-DD/`, its schema, and search.

mod day;
mod days;
mod fields;
mod request_id;
mod search;
mod verified_query;

pub use day::{DayIndex, INDEX_FORMAT_VERSION, META_FILE, day_name, day_of, day_start_ns, dir_bytes};
pub use days::DayIndexes;
pub use fields::{LogFields, LogLine, request_id_hash};
pub use request_id::{request_id_is, request_id_where};
pub use search::{Filter, HistogramBucket, MAX_LIMIT, SearchQuery, SearchResult, context, search};
