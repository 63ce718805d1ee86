//! Copies of stores taken while the server writes them (`belfry backup`),
//! layer 0 so that every store can use them: redb tables copied through
//! one read transaction into a new file (`redb_tables.rs`), and files that
//! never change once written, or only grow, taken by hard link
//! (`links.rs`).

mod links;
mod redb_tables;

pub use links::{CopiedFile, link_or_copy};
pub use redb_tables::{copy_table, finish};
