//! Upgrade steps of `state.redb`, applied in order when the store opens
//! (`migrations/README.md` lists them). `STEPS[i]` takes a file from
//! version `i + 1` to `i + 2`. Version 1 is the first format, so there is
//! no step yet.

use super::{SCHEMA_VERSION, StateError, StateStore};

type Step = fn(&StateStore) -> Result<(), StateError>;

const STEPS: &[Step] = &[];

/// Brings a store at `from` up to [`SCHEMA_VERSION`].
pub(super) fn upgrade(store: &StateStore, from: u64) -> Result<(), StateError> {
    for v in from..SCHEMA_VERSION {
        let path = || store.path().display().to_string();
        let step = usize::try_from(v)
            .ok()
            .and_then(|v| STEPS.get(v.wrapping_sub(1)))
            .ok_or_else(|| StateError::NoMigration {
                path: path(),
                from: v,
            })?;
        step(store).map_err(|e| StateError::Migration {
            path: path(),
            from: v,
            source: Box::new(e),
        })?;
        store.set_version(v + 1)?;
    }
    Ok(())
}
