//! The bulk answer in Elasticsearch's shape: `took`, `errors`, and one
//! `items[]` entry per action, keyed by the action's name, with `status`
//! and either `result` or `error.type` / `error.reason`. Clients retry
//! items by status (429 and 5xx), so the caller says which items were
//! stored and which were not.

use serde_json::{Value, json};

use super::{BulkItem, BulkRequest};

/// What became of an item the decoder accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemStatus {
    /// Durable; `201 created`.
    Stored,
    /// Not stored for a reason of the server's (a full disk, backpressure):
    /// the status (429, 503) tells the client to retry.
    Failed {
        status: u16,
        error_type: &'static str,
        reason: String,
    },
}

/// `statuses` holds one status per accepted item (`outcome` `Ok`), in
/// order. Items without an `_id` get a generated one, as Elasticsearch
/// gives.
pub fn bulk_response(request: &BulkRequest, statuses: &[ItemStatus], took_ms: u64) -> Value {
    let mut statuses = statuses.iter();
    let mut errors = false;
    let items: Vec<Value> = request
        .items
        .iter()
        .map(|item| {
            let body = match &item.outcome {
                Ok(_) => match statuses.next().unwrap_or(&ItemStatus::Stored) {
                    ItemStatus::Stored => json!({
                        "_index": item.index,
                        "_id": id(item),
                        "_version": 1,
                        "result": "created",
                        "_shards": {"total": 1, "successful": 1, "failed": 0},
                        "_seq_no": 0,
                        "_primary_term": 1,
                        "status": 201,
                    }),
                    ItemStatus::Failed {
                        status,
                        error_type,
                        reason,
                    } => {
                        errors = true;
                        json!({
                            "_index": item.index,
                            "_id": id(item),
                            "status": status,
                            "error": {"type": error_type, "reason": reason},
                        })
                    }
                },
                Err(e) => {
                    errors = true;
                    json!({
                        "_index": item.index,
                        "_id": item.id,
                        "status": 400,
                        "error": {"type": e.error_type(), "reason": e.to_string()},
                    })
                }
            };
            json!({ item.action.name(): body })
        })
        .collect();
    json!({"took": took_ms, "errors": errors, "items": items})
}

fn id(item: &BulkItem) -> String {
    item.id.clone().unwrap_or_else(|| {
        // Elasticsearch's ids are 20 URL-safe base64 characters.
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes: [u8; 20] = rand::random();
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 64)]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::ingest::bulk::decode_bulk;

    #[test]
    fn answer_lines_up_with_the_request() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"x1\"}}\n{\"message\":\"m\"}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"x2\"}}\n{\"create\":{\"_index\":\"a\"}}\n{\"message\":\"n\"}\n";
        let req = decode_bulk(body, None).unwrap();
        let statuses = [
            ItemStatus::Stored,
            ItemStatus::Failed {
                status: 429,
                error_type: "es_rejected_execution_exception",
                reason: "the logs store is busy".into(),
            },
        ];
        let v = bulk_response(&req, &statuses, 3);
        assert_eq!(v["took"], 3);
        assert_eq!(v["errors"], true);
        assert_eq!(v["items"][0]["index"]["status"], 201);
        assert_eq!(v["items"][0]["index"]["_id"], "x1");
        assert_eq!(v["items"][0]["index"]["result"], "created");
        assert_eq!(v["items"][1]["delete"]["status"], 400);
        assert_eq!(
            v["items"][1]["delete"]["error"]["type"],
            "action_request_validation_exception"
        );
        assert_eq!(v["items"][2]["create"]["status"], 429);
        assert_eq!(v["items"][2]["create"]["_id"].as_str().unwrap().len(), 20);
        let ok = bulk_response(
            &decode_bulk(b"{\"index\":{\"_index\":\"a\"}}\n{}\n", None).unwrap(),
            &[ItemStatus::Stored],
            0,
        );
        assert_eq!(ok["errors"], false);
    }
}
