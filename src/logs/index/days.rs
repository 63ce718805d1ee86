//! The set of day indexes under `<data-dir>/logs/index/`: opened at start,
//! created when a record for a new day arrives, dropped whole by
//! retention.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::day::{DayIndex, META_FILE, day_name, parse_day_name};
use super::fields::LogFields;
use crate::logs::LogsError;

pub struct DayIndexes {
    root: PathBuf,
    pub fields: LogFields,
    days: RwLock<BTreeMap<i64, Arc<DayIndex>>>,
}

impl DayIndexes {
    /// Opens every day under `root`; a directory without its meta file is
    /// a creation a crash interrupted, and is removed.
    pub fn open(root: &Path) -> Result<DayIndexes, LogsError> {
        std::fs::create_dir_all(root).map_err(|e| LogsError::io(root, e))?;
        let fields = LogFields::new();
        let mut days = BTreeMap::new();
        for entry in std::fs::read_dir(root).map_err(|e| LogsError::io(root, e))? {
            let entry = entry.map_err(|e| LogsError::io(root, e))?;
            let name = entry.file_name();
            let Some(day) = name.to_str().and_then(parse_day_name) else {
                continue;
            };
            if !entry.path().join(META_FILE).exists() {
                tracing::warn!(dir = %entry.path().display(), "removing a logs day index whose creation did not finish");
                std::fs::remove_dir_all(entry.path()).map_err(|e| LogsError::io(&entry.path(), e))?;
                continue;
            }
            days.insert(day, Arc::new(DayIndex::open(root, day, &fields, false)?));
        }
        Ok(DayIndexes {
            root: root.to_path_buf(),
            fields,
            days: RwLock::new(days),
        })
    }

    pub fn get(&self, day: i64) -> Option<Arc<DayIndex>> {
        self.days.read().get(&day).cloned()
    }

    pub fn get_or_create(&self, day: i64) -> Result<Arc<DayIndex>, LogsError> {
        if let Some(d) = self.get(day) {
            return Ok(d);
        }
        let mut days = self.days.write();
        if let Some(d) = days.get(&day) {
            return Ok(d.clone());
        }
        let d = Arc::new(DayIndex::open(&self.root, day, &self.fields, true)?);
        days.insert(day, d.clone());
        Ok(d)
    }

    /// Every day, oldest first.
    pub fn all(&self) -> Vec<Arc<DayIndex>> {
        self.days.read().values().cloned().collect()
    }

    /// Days overlapping `[first_day, last_day]`, newest first.
    pub fn newest_first(&self, first_day: i64, last_day: i64) -> Vec<Arc<DayIndex>> {
        if first_day > last_day {
            return Vec::new();
        }
        self.days
            .read()
            .range(first_day..=last_day)
            .rev()
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// The highest sequence number any day has committed below.
    pub fn committed_next_seq(&self) -> u64 {
        self.days
            .read()
            .values()
            .map(|d| d.committed_next_seq())
            .max()
            .unwrap_or(0)
    }

    /// Removes a day and its files. Searches holding it finish on the
    /// open files.
    pub fn drop_day(&self, day: i64) -> Result<(), LogsError> {
        let Some(d) = self.days.write().remove(&day) else {
            return Ok(());
        };
        d.close_writer();
        std::fs::remove_dir_all(&d.dir).map_err(|e| LogsError::io(&d.dir, e))?;
        tracing::info!(day = %day_name(day), "dropped logs day index");
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
