//! `data/state.redb`: the persistent state that is not metrics or logs —
//! silences, the notification log, pending alerts, and later users,
//! sessions, dashboards and error issues. One redb file with a `meta` table
//! holding the schema version; `migrations` upgrades older files step by
//! step when the store opens.
//!
//! To add a table: name it in [`tables`], bump nothing (an added table is
//! created empty on open and needs no migration), and read and write it
//! with [`StateStore::scan`] and [`StateStore::write`].

mod copy;
mod error;
mod migrations;
mod store;
pub mod tables;
mod writer;

pub use copy::CopiedRows;
pub use error::StateError;
pub use store::{SCHEMA_VERSION, StateStore};
pub use writer::{PendingWrite, StateWriter, WriteOp};
