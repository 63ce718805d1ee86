//! Alertmanager's `KV` (a label set) in its own order: `alertname`
//! first, then by name, as its `SortedPairs` gives and its `String` prints.

use std::collections::BTreeMap;

/// `KV.SortedPairs`: `alertname` first, then by name.
pub fn sorted_pairs(kv: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(kv.len());
    if let Some(v) = kv.get("alertname") {
        out.push(("alertname".to_string(), v.clone()));
    }
    out.extend(
        kv.iter()
            .filter(|(k, _)| *k != "alertname")
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}
