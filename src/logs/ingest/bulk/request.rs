//! The NDJSON body: an action line (`{"index": {"_index": …}}`), then for
//! `index`, `create` and `update` a document line. Every action becomes one
//! item in order, so the answer's `items[]` lines up with the request;
//! `delete` and `update` are read (to stay in step) and refused.

use serde_json::{Map, Value};

use super::{BulkError, document_entry};
use crate::logs::Entry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Delete,
    Update,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::Update => "update",
        }
    }
}

/// One item of the request.
#[derive(Debug, PartialEq)]
pub struct BulkItem {
    /// `index` when the action line could not be read.
    pub action: Action,
    pub index: Option<String>,
    pub id: Option<String>,
    /// Its entry, or why it was refused.
    pub outcome: Result<Entry, BulkError>,
}

#[derive(Debug, Default, PartialEq)]
pub struct BulkRequest {
    pub items: Vec<BulkItem>,
}

/// `url_index` is the `{index}` of `/{index}/_bulk`, the default for
/// actions that name none.
pub fn decode_bulk(body: &[u8], url_index: Option<&str>) -> Result<BulkRequest, BulkError> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.trim_ascii().is_empty());
    let mut out = BulkRequest::default();
    while let Some((line_no, line)) = lines.next() {
        let (action, meta) = match action_line(line, line_no) {
            Ok(parsed) => parsed,
            Err(e) => {
                // Without a readable action the next line's role is
                // unknown; Elasticsearch refuses the whole request here,
                // we refuse this line and read on.
                out.items.push(BulkItem {
                    action: Action::Index,
                    index: None,
                    id: None,
                    outcome: Err(e),
                });
                continue;
            }
        };
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(url_index)
            .map(str::to_string);
        let id = meta.get("_id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let outcome = match action {
            Action::Delete => Err(BulkError::Unsupported {
                action: "delete".into(),
            }),
            Action::Update => {
                let _ = lines.next();
                Err(BulkError::Unsupported {
                    action: "update".into(),
                })
            }
            Action::Index | Action::Create => match lines.next() {
                None => Err(BulkError::MissingDocument { line: line_no }),
                Some((doc_line, doc)) => document(doc, doc_line).and_then(|doc| match &index {
                    Some(index) => document_entry(doc, index),
                    None => Err(BulkError::NoIndex),
                }),
            },
        };
        out.items.push(BulkItem {
            action,
            index,
            id,
            outcome,
        });
    }
    if out.items.is_empty() {
        return Err(BulkError::EmptyBody);
    }
    Ok(out)
}

fn action_line(line: &[u8], line_no: usize) -> Result<(Action, Map<String, Value>), BulkError> {
    let fail = |reason: String| BulkError::ActionLine {
        line: line_no,
        reason,
    };
    let value: Value = serde_json::from_slice(line).map_err(|e| fail(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(fail("expected an object".to_string()));
    };
    if map.len() != 1 {
        return Err(fail(format!("expected one action, found {} keys", map.len())));
    }
    let (name, meta) = map.into_iter().next().expect("one key");
    let action = match name.as_str() {
        "index" => Action::Index,
        "create" => Action::Create,
        "delete" => Action::Delete,
        "update" => Action::Update,
        other => return Err(fail(format!("unknown action [{other}]"))),
    };
    match meta {
        Value::Object(meta) => Ok((action, meta)),
        _ => Err(fail(format!("the [{name}] action's metadata is not an object"))),
    }
}

fn document(line: &[u8], line_no: usize) -> Result<Map<String, Value>, BulkError> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BulkError::Document {
            line: line_no,
            reason: "not a JSON object".to_string(),
        }),
        Err(e) => Err(BulkError::Document {
            line: line_no,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LevelHint;
    use proptest::prelude::*;

    #[test]
    fn elasticsearch_python_client_body() {
        let body = include_bytes!("../../../../tests/fixtures/logs/es_python_client_bulk.ndjson");
        let req = decode_bulk(body, None).unwrap();
        assert_eq!(req.items.len(), 2);
        let one = req.items[0].outcome.as_ref().unwrap();
        assert_eq!(req.items[0].action, Action::Index);
        assert_eq!(one.line, "bulk one");
        assert_eq!(one.timestamp_ns, Some(1_714_557_600_123_000_000));
        assert_eq!(one.level, Some(LevelHint::Text("warn".into())));
        assert_eq!(
            one.labels,
            vec![
                ("index".to_string(), "lms-logs".to_string()),
                ("service".to_string(), "lms-api".to_string())
            ]
        );
        assert!(one.fields.is_empty(), "{:?}", one.fields);
        let two = req.items[1].outcome.as_ref().unwrap();
        assert_eq!(req.items[1].action, Action::Create);
        assert_eq!(two.level, Some(LevelHint::Text("error".into())));
        assert_eq!(two.fields.get("user_id"), Some(&Value::from(7)));
        assert!(!two.fields.contains_key("log"));
    }

    #[test]
    fn per_item_errors_keep_the_rest() {
        let body = concat!(
            "{\"index\":{}}\n{\"message\":\"url index\",\"@timestamp\":1714557600123}\n",
            "{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n",
            "{\"update\":{\"_index\":\"x\",\"_id\":2}}\n{\"doc\":{}}\n",
            "not json\n",
            "{\"create\":{\"_index\":\"y\"}}\n[1,2]\n",
            "{\"index\":{\"_index\":\"y\"}}\n{\"message\":\"bad ts\",\"@timestamp\":\"yesterday\"}\n",
            "{\"upsert\":{}}\n",
            "\n",
            "{\"index\":{\"_index\":\"z\"}}\n{\"log\":\"docker line\\n\",\"level\":\"INFO\"}\n",
            "{\"index\":{\"_index\":\"z\"}}\n",
        );
        let req = decode_bulk(body.as_bytes(), Some("from-url")).unwrap();
        let shown: Vec<String> = req
            .items
            .iter()
            .map(|i| match &i.outcome {
                Ok(e) => format!("{} ok {:?} {:?}", i.action.name(), i.index, e.line),
                Err(err) => format!("{} {} {err}", i.action.name(), err.error_type()),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "index ok Some(\"from-url\") \"url index\"",
                "delete action_request_validation_exception action [delete] is not supported: Belfry's bulk endpoint only indexes logs (index, create)",
                "update action_request_validation_exception action [update] is not supported: Belfry's bulk endpoint only indexes logs (index, create)",
                "index illegal_argument_exception malformed action/metadata line [6]: expected ident at line 1 column 2",
                "create document_parsing_exception failed to parse the document on line [8]: not a JSON object",
                "index document_parsing_exception failed to parse field [@timestamp]: \"yesterday\" is not an RFC 3339 date",
                "index illegal_argument_exception malformed action/metadata line [11]: unknown action [upsert]",
                "index ok Some(\"z\") \"docker line\\n\"",
                "index illegal_argument_exception the action on line [15] has no document line after it",
            ]
        );
        assert_eq!(req.items[2].id.as_deref(), Some("2"));
        assert_eq!(
            req.items[0].outcome.as_ref().unwrap().timestamp_ns,
            Some(1_714_557_600_123_000_000)
        );
        assert_eq!(
            decode_bulk(b"{\"index\":{}}\n{}\n", None).unwrap().items[0].outcome,
            Err(BulkError::NoIndex)
        );
        assert_eq!(decode_bulk(b"\n\n", None), Err(BulkError::EmptyBody));
    }

    proptest! {
        /// Every action yields exactly one item, in order.
        #[test]
        fn one_item_per_action(docs in prop::collection::vec(("[a-z ]{0,20}", any::<bool>()), 1..20)) {
            let mut body = String::new();
            for (msg, create) in &docs {
                let action = if *create { "create" } else { "index" };
                body.push_str(&format!("{{\"{action}\":{{\"_index\":\"i\"}}}}\n{}\n", serde_json::json!({"message": msg})));
            }
            let req = decode_bulk(body.as_bytes(), None).unwrap();
            prop_assert_eq!(req.items.len(), docs.len());
            for (item, (msg, _)) in req.items.iter().zip(&docs) {
                prop_assert_eq!(&item.outcome.as_ref().unwrap().line, msg);
            }
        }
    }
}
