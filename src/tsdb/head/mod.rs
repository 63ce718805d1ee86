//! The head: every known series (by label hash, collisions resolved by
//! comparing labels, and by ref), the label index over them, and the newest
//! timestamp seen, which bounds how old an append may be.

mod appender;
mod in_memory;
mod ref_table;
mod series;
mod series_index;
mod series_lock;

use super::u64_map::U64Map;
pub(crate) use appender::HeadAppender;
pub(crate) use in_memory::Head;
use ref_table::{RefTable, RefTables};
pub(crate) use series::{
    CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, MemSeries, Published, SealedChunk, SeriesState,
};
use series_index::HeadIndex;
pub(crate) use series_lock::{SeriesGuard, SeriesMutex};
