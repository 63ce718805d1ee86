//! Silences: matchers and a time window during which matching alerts are
//! not notified. Created, updated and expired through the API, persisted in
//! `state.redb`, and garbage-collected once expired for longer than the
//! retention.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::error::AlertingError;
use crate::model::matches_all;
use crate::model::{Labels, MatchOp, Matcher};
use crate::state::{StateWriter, WriteOp, tables};

/// Expired silences are kept this long (as Alertmanager's default) so
/// `amtool silence query --expired` still shows them.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(120 * 3600);
/// At most this many silences; more are refused (counted).
pub const MAX_SILENCES: usize = 10_000;
const MAX_COMMENT_BYTES: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

impl SilenceMatcher {
    pub fn op(&self) -> MatchOp {
        match (self.is_equal, self.is_regex) {
            (true, false) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (false, true) => MatchOp::NotRegex,
        }
    }

    fn compile(&self) -> Result<Matcher, AlertingError> {
        Matcher::new(self.op(), &self.name, &self.value).map_err(|e| AlertingError::BadSilence(e.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: SystemTime,
    pub ends_at: SystemTime,
    pub updated_at: SystemTime,
    pub created_by: String,
    pub comment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now: SystemTime) -> SilenceState {
        if now >= self.ends_at {
            SilenceState::Expired
        } else if now < self.starts_at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }
}

struct Entry {
    silence: Silence,
    matchers: Vec<Matcher>,
}

pub struct Silences {
    entries: Mutex<HashMap<String, Entry>>,
    writer: Option<StateWriter>,
    retention: Duration,
}

impl Silences {
    /// Starts from the silences stored in `state.redb` (those that cannot
    /// be read are logged and skipped).
    pub fn new(stored: Vec<(String, Vec<u8>)>, writer: Option<StateWriter>) -> Silences {
        let mut entries = HashMap::new();
        for (id, bytes) in stored {
            let silence: Silence = match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(id, error = %e, "skipping unreadable stored silence");
                    continue;
                }
            };
            match silence.matchers.iter().map(SilenceMatcher::compile).collect() {
                Ok(matchers) => {
                    entries.insert(id, Entry { silence, matchers });
                }
                Err(e) => tracing::warn!(id, error = %e, "skipping stored silence with a bad matcher"),
            }
        }
        Silences {
            entries: Mutex::new(entries),
            writer,
            retention: DEFAULT_RETENTION,
        }
    }

    /// Creates a silence, or updates silence `s.id`. As in Alertmanager, an
    /// update that changes the matchers or start of an active silence
    /// expires it and creates a new one; the returned id is the one in force.
    pub async fn set(&self, mut s: Silence, now: SystemTime) -> Result<String, AlertingError> {
        validate(&s, now)?;
        let matchers: Vec<Matcher> = s
            .matchers
            .iter()
            .map(SilenceMatcher::compile)
            .collect::<Result<_, _>>()?;
        let mut ops = Vec::new();
        {
            let mut entries = self.entries.lock();
            if !s.id.is_empty() {
                let Some(old) = entries.get_mut(&s.id) else {
                    return Err(AlertingError::SilenceNotFound(s.id.clone()));
                };
                let state = old.silence.state(now);
                let in_place = match state {
                    SilenceState::Expired => false,
                    SilenceState::Pending => true,
                    SilenceState::Active => {
                        old.silence.matchers == s.matchers && old.silence.starts_at == s.starts_at
                    }
                };
                if !in_place {
                    if state != SilenceState::Expired {
                        old.silence.ends_at = now;
                        old.silence.updated_at = now;
                        ops.push(put(&old.silence)?);
                    }
                    s.id = String::new();
                }
            }
            if s.id.is_empty() {
                if entries.len() >= MAX_SILENCES {
                    return Err(AlertingError::TooManySilences(MAX_SILENCES));
                }
                s.id = new_id();
                if s.starts_at < now {
                    s.starts_at = now;
                }
            }
            s.updated_at = now;
            ops.push(put(&s)?);
            entries.insert(
                s.id.clone(),
                Entry {
                    silence: s.clone(),
                    matchers,
                },
            );
        }
        self.persist(ops).await?;
        Ok(s.id)
    }

    /// Ends a silence now. Expiring an expired silence is an error, as in
    /// Alertmanager.
    pub async fn expire(&self, id: &str, now: SystemTime) -> Result<(), AlertingError> {
        let op = {
            let mut entries = self.entries.lock();
            let e = entries
                .get_mut(id)
                .ok_or_else(|| AlertingError::SilenceNotFound(id.to_string()))?;
            match e.silence.state(now) {
                SilenceState::Expired => return Err(AlertingError::SilenceExpired(id.to_string())),
                SilenceState::Pending => e.silence.starts_at = now,
                SilenceState::Active => {}
            }
            e.silence.ends_at = now;
            e.silence.updated_at = now;
            put(&e.silence)?
        };
        self.persist(vec![op]).await
    }

    pub fn get(&self, id: &str) -> Option<Silence> {
        self.entries.lock().get(id).map(|e| e.silence.clone())
    }

    pub fn list(&self) -> Vec<Silence> {
        self.entries.lock().values().map(|e| e.silence.clone()).collect()
    }

    /// Ids of the active silences that match `labels`.
    pub fn mutes(&self, labels: &Labels, now: SystemTime) -> Vec<String> {
        let entries = self.entries.lock();
        let mut ids: Vec<String> = entries
            .values()
            .filter(|e| e.silence.state(now) == SilenceState::Active && matches_all(&e.matchers, labels))
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort();
        ids
    }

    pub fn active_count(&self, now: SystemTime) -> usize {
        self.entries
            .lock()
            .values()
            .filter(|e| e.silence.state(now) == SilenceState::Active)
            .count()
    }

    /// Drops silences expired for longer than the retention.
    pub async fn gc(&self, now: SystemTime) -> Result<usize, AlertingError> {
        let removed: Vec<String> = {
            let mut entries = self.entries.lock();
            let old: Vec<String> = entries
                .values()
                .filter(|e| e.silence.ends_at + self.retention <= now)
                .map(|e| e.silence.id.clone())
                .collect();
            for id in &old {
                entries.remove(id);
            }
            old
        };
        let n = removed.len();
        if n > 0 {
            self.persist(
                removed
                    .into_iter()
                    .map(|id| WriteOp::delete(tables::SILENCES, id))
                    .collect(),
            )
            .await?;
        }
        Ok(n)
    }

    async fn persist(&self, ops: Vec<WriteOp>) -> Result<(), AlertingError> {
        match &self.writer {
            Some(w) => w.write(ops).await.map_err(AlertingError::State),
            None => Ok(()),
        }
    }
}

fn put(s: &Silence) -> Result<WriteOp, AlertingError> {
    let bytes =
        serde_json::to_vec(s).map_err(|e| AlertingError::Internal(format!("encoding silence: {e}")))?;
    Ok(WriteOp::put(tables::SILENCES, s.id.clone(), bytes))
}

fn validate(s: &Silence, now: SystemTime) -> Result<(), AlertingError> {
    let bad = |m: &str| Err(AlertingError::BadSilence(m.to_string()));
    if s.matchers.is_empty() {
        return bad("at least one matcher is required");
    }
    let compiled: Vec<Matcher> = s
        .matchers
        .iter()
        .map(SilenceMatcher::compile)
        .collect::<Result<_, _>>()?;
    if compiled.iter().all(Matcher::matches_empty) {
        return bad("at least one matcher must not match the empty string (it would silence every alert)");
    }
    if let Some(m) = s.matchers.iter().find(|m| m.name.is_empty()) {
        return Err(AlertingError::BadSilence(format!(
            "matcher with empty label name (value {:?})",
            m.value
        )));
    }
    if s.ends_at <= s.starts_at {
        return bad("end time must be after start time");
    }
    if s.ends_at <= now {
        return bad("end time can't be in the past");
    }
    if s.comment.len() > MAX_COMMENT_BYTES {
        return bad("comment is longer than 4096 bytes");
    }
    Ok(())
}

/// A random UUID (version 4), the id format Alertmanager uses.
fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        }
    }

    fn silence(matchers: Vec<SilenceMatcher>, now: SystemTime) -> Silence {
        Silence {
            id: String::new(),
            matchers,
            starts_at: now,
            ends_at: now + Duration::from_secs(3600),
            updated_at: now,
            created_by: "me".into(),
            comment: "maintenance".into(),
        }
    }

    #[tokio::test]
    async fn all_four_matcher_types_and_expiry() {
        let s = Silences::new(Vec::new(), None);
        let now = SystemTime::now();
        let id = s
            .set(
                silence(
                    vec![
                        matcher("alertname", "Disk", false, true),
                        matcher("env", "dev", false, false),
                        matcher("instance", "db-.*", true, true),
                        matcher("team", "ops|sre", true, false),
                    ],
                    now,
                ),
                now,
            )
            .await
            .unwrap();
        let hit = Labels::from_pairs(&[
            ("alertname", "Disk"),
            ("env", "prod"),
            ("instance", "db-1"),
            ("team", "dba"),
        ]);
        assert_eq!(s.mutes(&hit, now), vec![id.clone()]);
        let miss = Labels::from_pairs(&[
            ("alertname", "Disk"),
            ("env", "prod"),
            ("instance", "db-1"),
            ("team", "sre"),
        ]);
        assert!(s.mutes(&miss, now).is_empty());
        let later = now + Duration::from_secs(1);
        s.expire(&id, later).await.unwrap();
        assert!(s.mutes(&hit, later).is_empty());
        assert!(matches!(
            s.expire(&id, later).await,
            Err(AlertingError::SilenceExpired(_))
        ));
        assert_eq!(s.gc(later + DEFAULT_RETENTION).await.unwrap(), 1);
        assert!(s.get(&id).is_none());
    }

    #[tokio::test]
    async fn refuses_silences_that_match_everything_or_ended() {
        let s = Silences::new(Vec::new(), None);
        let now = SystemTime::now();
        assert!(
            s.set(silence(vec![matcher("a", ".*", true, true)], now), now)
                .await
                .is_err()
        );
        assert!(s.set(silence(vec![], now), now).await.is_err());
        let mut ended = silence(vec![matcher("a", "b", false, true)], now);
        ended.ends_at = now - Duration::from_secs(1);
        ended.starts_at = now - Duration::from_secs(10);
        assert!(s.set(ended, now).await.is_err());
        let mut unknown = silence(vec![matcher("a", "b", false, true)], now);
        unknown.id = "nope".into();
        assert!(matches!(
            s.set(unknown, now).await,
            Err(AlertingError::SilenceNotFound(_))
        ));
    }

    #[tokio::test]
    async fn changing_matchers_of_an_active_silence_replaces_it() {
        let s = Silences::new(Vec::new(), None);
        let now = SystemTime::now();
        let id = s
            .set(silence(vec![matcher("a", "b", false, true)], now), now)
            .await
            .unwrap();
        let mut update = s.get(&id).unwrap();
        update.comment = "longer".into();
        assert_eq!(s.set(update.clone(), now).await.unwrap(), id);
        update.matchers = vec![matcher("a", "c", false, true)];
        let new_id = s.set(update, now).await.unwrap();
        assert_ne!(new_id, id);
        assert_eq!(s.get(&id).unwrap().state(now), SilenceState::Expired);
    }

    #[tokio::test]
    async fn persisted_silences_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::StateStore::open(dir.path()).unwrap();
        let now = SystemTime::now();
        let id = {
            let s = Silences::new(Vec::new(), Some(StateWriter::start(store.clone())));
            s.set(silence(vec![matcher("a", "b", false, true)], now), now)
                .await
                .unwrap()
        };
        let s = Silences::new(store.scan(tables::SILENCES).unwrap(), None);
        assert_eq!(s.get(&id).unwrap().comment, "maintenance");
    }
}
