//! Scrubbing JSON values — log fields, and for errors a frame's local
//! variables, request headers, breadcrumbs and extra data: values under
//! sensitive keys are replaced whole, every string is scrubbed as text,
//! and a number that is a card number becomes `[card]`.

use serde_json::{Map, Value};

use super::Scrubber;
use super::luhn::luhn_valid;

/// What replaces a value under a sensitive key.
pub const SENSITIVE_MARKER: &str = "[redacted]";

/// Nesting past this depth is replaced whole rather than walked: the
/// parser's own recursion limit (128) is the real bound, this keeps a
/// hand-built value from exhausting the stack.
const MAX_DEPTH: usize = 128;

impl Scrubber {
    /// Scrubs `value` in place.
    pub fn scrub_value(&self, value: &mut Value) {
        self.scrub_at(value, 0);
    }

    /// Scrubs every value of `map` in place (keys are kept: they name
    /// what was removed).
    pub fn scrub_map(&self, map: &mut Map<String, Value>) {
        self.scrub_map_at(map, 0);
    }

    fn scrub_map_at(&self, map: &mut Map<String, Value>, depth: usize) {
        for (key, v) in map.iter_mut() {
            if !v.is_null() && self.is_sensitive_key(key) {
                if v.as_str() != Some(SENSITIVE_MARKER) {
                    self.count_sensitive();
                    *v = Value::String(SENSITIVE_MARKER.to_string());
                }
            } else {
                self.scrub_at(v, depth + 1);
            }
        }
    }

    fn scrub_at(&self, value: &mut Value, depth: usize) {
        if depth > MAX_DEPTH {
            *value = Value::String(SENSITIVE_MARKER.to_string());
            return;
        }
        match value {
            Value::String(s) => {
                self.scrub_string(s);
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_at(v, depth + 1)),
            Value::Object(map) => self.scrub_map_at(map, depth),
            Value::Number(n) if self.cards_on() && is_card_number(n) => {
                self.count_card();
                *value = Value::String("[card]".to_string());
            }
            Value::Number(_) | Value::Bool(_) | Value::Null => {}
        }
    }
}

fn is_card_number(n: &serde_json::Number) -> bool {
    let Some(u) = n.as_u64() else { return false };
    let digits = u.to_string();
    (13..=19).contains(&digits.len()) && matches!(digits.as_bytes()[0], b'2'..=b'6') && luhn_valid(&digits)
}
