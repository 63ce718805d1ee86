//! Each user's login history: the countries they logged in from with when
//! each was last seen, and where and when they last logged in. Kept in
//! memory, bounded by `logins.max_users`, and in table `login_users` of
//! `state.redb` (JSON, versioned by `v`) so a restart does not forget it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::distance::Point;
use super::geo::{Location, Place};

/// The stored row's format; a row of another is skipped with a warning.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserHistory {
    pub v: u32,
    /// ISO code → Unix ms it was last seen.
    pub countries: BTreeMap<String, i64>,
    pub last: Option<LastLogin>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastLogin {
    pub at_ms: i64,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_km: Option<f64>,
}

impl LastLogin {
    pub fn location(&self) -> Option<Location> {
        Some(Location {
            point: Point {
                lat: self.lat?,
                lon: self.lon?,
            },
            radius_km: self.radius_km,
        })
    }
}

impl Default for UserHistory {
    fn default() -> Self {
        UserHistory {
            v: FORMAT,
            countries: BTreeMap::new(),
            last: None,
        }
    }
}

impl UserHistory {
    /// Forgets countries last seen before `since_ms`.
    pub fn forget_before(&mut self, since_ms: i64) {
        self.countries.retain(|_, seen| *seen >= since_ms);
    }

    /// When the user was last seen at all.
    pub fn last_seen_ms(&self) -> i64 {
        let countries = self.countries.values().copied().max().unwrap_or(i64::MIN);
        countries.max(self.last.as_ref().map_or(i64::MIN, |l| l.at_ms))
    }

    /// Records a login from `place` at `at_ms`. A login older than the
    /// last one (a late record) updates the country but not the last place.
    pub fn record(&mut self, place: &Place, at_ms: i64) {
        let seen = self.countries.entry(place.country.clone()).or_insert(at_ms);
        *seen = (*seen).max(at_ms);
        if self.last.as_ref().is_none_or(|l| l.at_ms <= at_ms) {
            let loc = place.location;
            self.last = Some(LastLogin {
                at_ms,
                country: place.country.clone(),
                lat: loc.map(|l| l.point.lat),
                lon: loc.map(|l| l.point.lon),
                radius_km: loc.and_then(|l| l.radius_km),
            });
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stored row; `Err` says why it cannot be used.
    pub fn from_bytes(bytes: &[u8]) -> Result<UserHistory, String> {
        let h: UserHistory = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if h.v != FORMAT {
            return Err(format!("format {} is not {FORMAT}", h.v));
        }
        Ok(h)
    }
}

/// Every tracked user's history by token, at most `cap` of them.
#[derive(Default)]
pub struct Histories {
    pub users: HashMap<String, UserHistory>,
}

impl Histories {
    /// Makes room for one more user when `cap` is reached: the users not
    /// seen since `stale_before_ms` first, else the longest-unseen
    /// sixty-fourth (at least one), so a stream of new users at the cap
    /// does not scan the map for each. Returns the tokens forgotten.
    pub fn make_room(&mut self, cap: usize, stale_before_ms: i64) -> Vec<String> {
        if self.users.len() < cap {
            return Vec::new();
        }
        let mut gone: Vec<String> = self
            .users
            .iter()
            .filter(|(_, h)| h.last_seen_ms() < stale_before_ms)
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            let mut by_age: Vec<(i64, &String)> =
                self.users.iter().map(|(k, h)| (h.last_seen_ms(), k)).collect();
            let n = (by_age.len() / 64).max(1).min(by_age.len());
            by_age.select_nth_unstable(n - 1);
            gone = by_age[..n].iter().map(|(_, k)| (*k).clone()).collect();
        }
        for k in &gone {
            self.users.remove(k);
        }
        gone
    }

    /// Forgets users not seen since `before_ms`; returns their tokens.
    pub fn expire(&mut self, before_ms: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .users
            .iter()
            .filter(|(_, h)| h.last_seen_ms() < before_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.users.remove(k);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(country: &str, lat: f64, lon: f64) -> Place {
        Place {
            country: country.into(),
            location: Some(Location {
                point: Point { lat, lon },
                radius_km: Some(10.0),
            }),
        }
    }

    #[test]
    fn a_history_records_countries_and_the_last_place_and_round_trips() {
        let mut h = UserHistory::default();
        h.record(&place("GB", 51.5, -0.1), 1_000);
        h.record(&place("US", 47.2, -122.3), 5_000);
        // A late record of an earlier login keeps the last place.
        h.record(&place("FR", 48.8, 2.3), 3_000);
        assert_eq!(h.last.as_ref().unwrap().country, "US");
        assert_eq!(h.countries.len(), 3);
        assert_eq!(h.last_seen_ms(), 5_000);
        let back = UserHistory::from_bytes(&h.to_bytes()).unwrap();
        assert_eq!(back, h);
        h.forget_before(2_000);
        assert_eq!(h.countries.keys().collect::<Vec<_>>(), ["FR", "US"]);
        let newer = br#"{"v":2,"countries":{},"last":null}"#;
        assert!(UserHistory::from_bytes(newer).unwrap_err().contains("format 2"));
        assert!(UserHistory::from_bytes(b"{").is_err());
    }

    #[test]
    fn room_is_made_from_the_stale_then_the_longest_unseen() {
        let mut hs = Histories::default();
        for i in 0..128 {
            let mut h = UserHistory::default();
            h.record(&place("GB", 51.5, -0.1), 1_000 + i);
            hs.users.insert(format!("u_{i}"), h);
        }
        assert!(hs.make_room(200, 0).is_empty());
        // Nothing stale: the two longest unseen go (128 / 64).
        let gone = hs.make_room(128, 0);
        let mut gone_sorted = gone.clone();
        gone_sorted.sort();
        assert_eq!(gone_sorted, ["u_0", "u_1"]);
        assert_eq!(hs.users.len(), 126);
        // Stale ones first, all of them.
        let gone = hs.make_room(126, 1_010);
        assert_eq!(gone.len(), 8);
        assert_eq!(hs.expire(1_128).len(), 118);
        assert!(hs.users.is_empty());
    }
}
