//! An issue's tag summary: per tag key the most frequent values with
//! their counts, from each event's `tags` and the fields Sentry shows as
//! tags (`level`, `release`, `environment`, `server_name`, `transaction`,
//! browser and OS from `contexts`). Bounded, because it lives in memory
//! for every issue: at most [`MAX_KEYS`] keys of [`MAX_VALUES`] values;
//! values past that are counted as `other`, keys past that are not kept.
//!
//! Held packed into one byte string per issue (lengths and counts as
//! varints, the text inline) rather than as a vector of strings: a
//! summary of a dozen keys with a few values each costs about 4 KB as
//! `String`s and vectors, a tenth of that packed, and every issue keeps
//! one. It is unpacked for the moment an event is counted in or the
//! summary is read; stored and served as the same JSON as before.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::Event;

pub const MAX_KEYS: usize = 50;
pub const MAX_VALUES: usize = 20;
/// Longer keys and values are cut, as Sentry's relay does (200 bytes).
const MAX_TAG_LEN: usize = 200;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TagValues {
    pub key: String,
    /// Events that had this key.
    pub total: u64,
    /// Events whose value did not fit among the kept ones.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other: u64,
    /// `(value, count)`, most frequent first.
    pub values: Vec<(String, u64)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The packed summary: per key `len key total other n (len value count)*n`,
/// every number a LEB128 varint, keys in the order they were first seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TagSummary(Box<[u8]>);

/// What adding one event's tags did to the bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagOverflow {
    pub keys_dropped: u64,
    pub values_as_other: u64,
}

impl TagSummary {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Packs `tags`, in their order.
    pub fn from_tags(tags: &[TagValues]) -> TagSummary {
        let mut out = Vec::new();
        for t in tags {
            put_str(&mut out, &t.key);
            put_varint(&mut out, t.total);
            put_varint(&mut out, t.other);
            put_varint(&mut out, t.values.len() as u64);
            for (v, c) in &t.values {
                put_str(&mut out, v);
                put_varint(&mut out, *c);
            }
        }
        TagSummary(out.into_boxed_slice())
    }

    /// The keys with their values, unpacked.
    pub fn tags(&self) -> Vec<TagValues> {
        self.iter().collect()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    fn iter(&self) -> impl Iterator<Item = TagValues> + '_ {
        let mut r = Reader(&self.0);
        std::iter::from_fn(move || r.tag())
    }

    /// Counts the tags of `event` in.
    pub fn add(&mut self, event: &Event) -> TagOverflow {
        let mut overflow = TagOverflow::default();
        let mut tags = self.tags();
        for (key, value) in event_tags(event) {
            add_one(&mut tags, &key, &value, &mut overflow);
        }
        *self = TagSummary::from_tags(&tags);
        overflow
    }

    pub fn get(&self, key: &str) -> Option<TagValues> {
        self.iter().find(|t| t.key == key)
    }

    /// Whether some event had `key` with `value` (among the kept values).
    pub fn has_value(&self, key: &str, value: &str) -> bool {
        self.get(key)
            .is_some_and(|t| t.values.iter().any(|(v, _)| v == value))
    }

    /// The API's shape: `[{key, total, values: [{value, count}]}]`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.iter()
                .map(|t| {
                    let mut values: Vec<Value> = t
                        .values
                        .iter()
                        .map(|(v, c)| serde_json::json!({"value": v, "count": c}))
                        .collect();
                    if t.other > 0 {
                        values.push(serde_json::json!({"value": null, "other": true, "count": t.other}));
                    }
                    serde_json::json!({"key": t.key, "total": t.total, "values": values})
                })
                .collect(),
        )
    }
}

/// Stored as the list of [`TagValues`], as before it was packed.
impl Serialize for TagSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TagSummary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TagSummary::from_tags(&Vec::<TagValues>::deserialize(d)?))
    }
}

fn add_one(tags: &mut Vec<TagValues>, key: &str, value: &str, overflow: &mut TagOverflow) {
    let key = cut(key);
    let value = cut(value);
    let slot = match tags.iter().position(|t| t.key == key) {
        Some(i) => i,
        None if tags.len() < MAX_KEYS => {
            tags.push(TagValues {
                key: key.to_string(),
                ..TagValues::default()
            });
            tags.len() - 1
        }
        None => {
            overflow.keys_dropped += 1;
            return;
        }
    };
    let tag = &mut tags[slot];
    tag.total += 1;
    match tag.values.iter().position(|(v, _)| v == value) {
        Some(mut i) => {
            tag.values[i].1 += 1;
            // Keeps the order by count with one bubble step per event.
            while i > 0 && tag.values[i - 1].1 < tag.values[i].1 {
                tag.values.swap(i - 1, i);
                i -= 1;
            }
        }
        None if tag.values.len() < MAX_VALUES => tag.values.push((value.to_string(), 1)),
        None => {
            tag.other += 1;
            overflow.values_as_other += 1;
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads what [`TagSummary::from_tags`] packed; the bytes never come
/// from anywhere else, so a short read only ends the iteration.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.varint()?).ok()?;
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        // Packed from `&str`.
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    fn tag(&mut self) -> Option<TagValues> {
        if self.0.is_empty() {
            return None;
        }
        let key = self.string()?;
        let total = self.varint()?;
        let other = self.varint()?;
        let n = self.varint()?;
        let mut values = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(MAX_VALUES));
        for _ in 0..n {
            values.push((self.string()?, self.varint()?));
        }
        Some(TagValues {
            key,
            total,
            other,
            values,
        })
    }
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_TAG_LEN {
        return s;
    }
    let mut end = MAX_TAG_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The `(key, value)` pairs an event contributes; the event's own tags
/// win over derived ones of the same key.
pub fn event_tags(event: &Event) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(Value::Object(tags)) = event.body.get("tags") {
        for (k, v) in tags {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if !k.is_empty() && !v.is_empty() {
                out.push((k.clone(), v));
            }
        }
    }
    let mut derived = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty())
            && !out.iter().any(|(k, _)| k == key)
        {
            out.push((key.to_string(), v.to_string()));
        }
    };
    derived("level", Some(event.level()));
    derived("release", event.release());
    derived("environment", event.environment());
    derived("server_name", event.str("server_name"));
    derived("transaction", event.transaction());
    let context = |name: &str, field: &str| event.body.get("contexts")?.get(name)?.get(field)?.as_str();
    derived("browser", context("browser", "name"));
    derived(
        "os",
        context("os", "name").or_else(|| context("client_os", "name")),
    );
    derived("runtime", context("runtime", "name"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        Event::parse(json.as_bytes(), None, 0.0).unwrap()
    }

    #[test]
    fn derives_tags_from_fields_and_contexts() {
        let e = event(
            r#"{"level":"warning","release":"1.2","environment":"prod","server_name":"web-1",
                "transaction":"/grades","tags":{"course":"m101","release":"own"},
                "contexts":{"browser":{"name":"Chrome","version":"120"},"os":{"name":"Linux"}}}"#,
        );
        let tags = event_tags(&e);
        let get = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("course"), Some("m101"));
        assert_eq!(get("release"), Some("own"));
        assert_eq!(get("level"), Some("warning"));
        assert_eq!(get("environment"), Some("prod"));
        assert_eq!(get("server_name"), Some("web-1"));
        assert_eq!(get("transaction"), Some("/grades"));
        assert_eq!(get("browser"), Some("Chrome"));
        assert_eq!(get("os"), Some("Linux"));
    }

    #[test]
    fn counts_orders_and_bounds() {
        let mut s = TagSummary::default();
        s.add(&event(r#"{"tags":{"b":"x"}}"#));
        s.add(&event(r#"{"tags":{"b":"y"}}"#));
        s.add(&event(r#"{"tags":{"b":"y"}}"#));
        let b = s.get("b").unwrap();
        assert_eq!(b.total, 3);
        assert_eq!(b.values, [("y".to_string(), 2), ("x".to_string(), 1)]);
        assert!(s.has_value("level", "error"));

        let mut s = TagSummary::default();
        let mut overflow = TagOverflow::default();
        for i in 0..MAX_VALUES + 5 {
            overflow = s.add(&event(&format!(r#"{{"tags":{{"v":"{i}"}}}}"#)));
        }
        assert_eq!(overflow.values_as_other, 1);
        let v = s.get("v").unwrap();
        assert_eq!((v.values.len(), v.other, v.total), (MAX_VALUES, 5, 25));
        let json = s.to_json();
        let v = json.as_array().unwrap().iter().find(|t| t["key"] == "v").unwrap();
        assert_eq!(v["values"].as_array().unwrap().len(), MAX_VALUES + 1);

        let many: Vec<String> = (0..MAX_KEYS + 3).map(|i| format!(r#""k{i}":"v""#)).collect();
        let mut s = TagSummary::default();
        let overflow = s.add(&event(&format!(r#"{{"tags":{{{}}}}}"#, many.join(","))));
        assert_eq!(s.len(), MAX_KEYS);
        // The derived `level` is among the dropped keys too.
        assert_eq!(overflow.keys_dropped, 4);
    }

    #[test]
    fn packed_form_stores_as_the_list_of_keys() {
        let mut s = TagSummary::default();
        s.add(&event(r#"{"tags":{"course":"Math 101","long":"é"}}"#));
        s.add(&event(r#"{"tags":{"course":"Math 101"}}"#));
        let mut many = String::from(r#"{"tags":{"n":""#);
        many.push_str(&"x".repeat(300));
        many.push_str(r#""}}"#);
        s.add(&event(&many));
        let json = serde_json::to_value(&s).unwrap();
        let course = json
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == "course")
            .unwrap();
        assert_eq!(
            course,
            &serde_json::json!({"key": "course", "total": 2, "values": [["Math 101", 2]]})
        );
        let back: TagSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        assert_eq!(s.get("n").unwrap().values[0].0.len(), MAX_TAG_LEN);
        assert_eq!(s.get("long").unwrap().values[0].0, "é");
        // Counts past one varint byte survive the packing.
        let big = TagSummary::from_tags(&[TagValues {
            key: "k".into(),
            total: 1 << 40,
            other: 300,
            values: vec![("v".into(), 128)],
        }]);
        assert_eq!(big.tags()[0].total, 1 << 40);
        assert_eq!(big.tags()[0].values, [("v".to_string(), 128)]);
    }
}
