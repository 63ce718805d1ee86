//! Sentry's envelope format, split by our own code: a JSON header line,
//! then items, each a JSON header line and a payload — `length` bytes when
//! the header says so (then an optional newline), else up to the next
//! newline or the end. The splitter only frames: what an item type means
//! is decided by the ingest, so an unknown type is skipped there, never
//! fatal here. A truncated item is refused with the sizes that disagree.

use serde_json::{Map, Value};

/// More items than any SDK sends in one envelope; a bound on the work a
/// body full of empty headers can cause.
pub const MAX_ITEMS: usize = 1_000;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the body is empty")]
    Empty,
    #[error("the envelope header is not a JSON object: {0}")]
    BadHeader(String),
    #[error("item {index}: the item header is not a JSON object: {reason}")]
    BadItemHeader { index: usize, reason: String },
    #[error("item {index}: the item header has no \"type\"")]
    MissingType { index: usize },
    #[error("item {index}: \"length\" must be a non-negative integer")]
    BadLength { index: usize },
    #[error("item {index} ({item_type}) is truncated: its header says {declared} bytes, {available} follow")]
    Truncated {
        index: usize,
        item_type: String,
        declared: u64,
        available: usize,
    },
    #[error("more than {MAX_ITEMS} items")]
    TooManyItems,
}

#[derive(Debug, PartialEq)]
pub struct Item<'a> {
    pub item_type: String,
    pub header: Map<String, Value>,
    pub payload: &'a [u8],
}

#[derive(Debug, PartialEq)]
pub struct Envelope<'a> {
    pub header: Map<String, Value>,
    pub items: Vec<Item<'a>>,
}

impl Envelope<'_> {
    /// The header's `dsn`, which authenticates an envelope sent without
    /// `X-Sentry-Auth` (browser SDKs, tunnels).
    pub fn dsn(&self) -> Option<&str> {
        self.header.get("dsn").and_then(Value::as_str)
    }

    pub fn event_id(&self) -> Option<&str> {
        self.header.get("event_id").and_then(Value::as_str)
    }
}

/// A line without its `\n` (and a `\r` before it), and the rest after it.
fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\n', data) {
        Some(i) => {
            let l = &data[..i];
            (l.strip_suffix(b"\r").unwrap_or(l), &data[i + 1..])
        }
        // The empty rest still points into the body.
        None => (data, &data[data.len()..]),
    }
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

pub fn parse(body: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EnvelopeError::Empty);
    }
    let (head, mut rest) = line(body);
    let header = object(head).map_err(EnvelopeError::BadHeader)?;
    let mut items = Vec::new();
    loop {
        // Blank lines between items (and a trailing newline) are framing.
        while let Some(r) = rest.strip_prefix(b"\n").or_else(|| rest.strip_prefix(b"\r\n")) {
            rest = r;
        }
        if rest.is_empty() {
            break;
        }
        let index = items.len();
        if index == MAX_ITEMS {
            return Err(EnvelopeError::TooManyItems);
        }
        let (item_head, after) = line(rest);
        let item_header =
            object(item_head).map_err(|reason| EnvelopeError::BadItemHeader { index, reason })?;
        let item_type = item_header
            .get("type")
            .and_then(Value::as_str)
            .ok_or(EnvelopeError::MissingType { index })?
            .to_string();
        let (payload, next) = match item_header.get("length") {
            None | Some(Value::Null) => line(after),
            Some(v) => {
                let declared = v.as_u64().ok_or(EnvelopeError::BadLength { index })?;
                let n = usize::try_from(declared).unwrap_or(usize::MAX);
                if n > after.len() {
                    return Err(EnvelopeError::Truncated {
                        index,
                        item_type,
                        declared,
                        available: after.len(),
                    });
                }
                let (payload, tail) = after.split_at(n);
                let tail = tail
                    .strip_prefix(b"\r\n")
                    .or_else(|| tail.strip_prefix(b"\n"))
                    .unwrap_or(tail);
                (payload, tail)
            }
        };
        items.push(Item {
            item_type,
            header: item_header,
            payload,
        });
        rest = next;
    }
    Ok(Envelope { header, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn items_with_and_without_length() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k@h/1\"}\n\
{\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\"}\n{\"message\":\"hi\"}\n";
        let env = parse(body).unwrap();
        assert_eq!(env.dsn(), Some("https://k@h/1"));
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].item_type, "attachment");
        assert_eq!(env.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        assert_eq!(env.items[1].payload, b"{\"message\":\"hi\"}");
    }

    #[test]
    fn last_item_without_newline_and_empty_payloads() {
        let env = parse(b"{}\n{\"type\":\"session\",\"length\":0}\n{\"type\":\"event\"}\n{}").unwrap();
        assert_eq!(env.items[0].payload, b"");
        assert_eq!(env.items[1].payload, b"{}");
        assert_eq!(parse(b"{}").unwrap().items.len(), 0);
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(parse(b"").unwrap_err(), EnvelopeError::Empty);
        assert!(matches!(parse(b"nope\n"), Err(EnvelopeError::BadHeader(_))));
        assert!(matches!(
            parse(b"{}\n[1]\n"),
            Err(EnvelopeError::BadItemHeader { index: 0, .. })
        ));
        assert_eq!(
            parse(b"{}\n{\"length\":1}\nx").unwrap_err(),
            EnvelopeError::MissingType { index: 0 }
        );
        assert_eq!(
            parse(b"{}\n{\"type\":\"event\",\"length\":-1}\nx").unwrap_err(),
            EnvelopeError::BadLength { index: 0 }
        );
        let e = parse(b"{}\n{\"type\":\"event\",\"length\":50}\n{\"a\":1}").unwrap_err();
        assert_eq!(
            e,
            EnvelopeError::Truncated {
                index: 0,
                item_type: "event".into(),
                declared: 50,
                available: 7
            }
        );
        assert!(e.to_string().contains("says 50 bytes, 7 follow"));
    }

    fn write(header: &str, items: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
        let mut out = header.as_bytes().to_vec();
        out.push(b'\n');
        for (ty, payload, with_length) in items {
            let h = if *with_length {
                serde_json::json!({"type": ty, "length": payload.len()})
            } else {
                serde_json::json!({"type": ty})
            };
            out.extend_from_slice(h.to_string().as_bytes());
            out.push(b'\n');
            out.extend_from_slice(payload);
            out.push(b'\n');
        }
        out
    }

    proptest! {
        #[test]
        fn what_is_written_is_split_back(
            items in prop::collection::vec(
                ("[a-z_]{1,12}", prop::collection::vec(any::<u8>(), 0..64), any::<bool>()),
                0..8,
            )
        ) {
            // Without a length a payload ends at its first newline, so
            // those payloads must hold none.
            let items: Vec<(String, Vec<u8>, bool)> = items
                .into_iter()
                .map(|(t, mut p, l)| {
                    if !l {
                        p.retain(|b| *b != b'\n' && *b != b'\r');
                        if p.is_empty() { p.push(b'x'); }
                    }
                    (t, p, l)
                })
                .collect();
            let body = write("{\"event_id\":\"x\"}", &items);
            let env = parse(&body).unwrap();
            prop_assert_eq!(env.items.len(), items.len());
            for (got, (ty, payload, _)) in env.items.iter().zip(&items) {
                prop_assert_eq!(&got.item_type, ty);
                prop_assert_eq!(got.payload, &payload[..]);
            }
        }

        #[test]
        fn any_bytes_split_or_refuse_without_panicking(body in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(env) = parse(&body) {
                for item in env.items {
                    prop_assert!(item.payload.len() <= body.len());
                }
            }
        }

        #[test]
        fn a_cut_envelope_is_refused_or_shorter(cut in 0usize..200) {
            let body = write("{}", &[
                ("event".into(), br#"{"message":"one"}"#.to_vec(), true),
                ("attachment".into(), vec![b'a'; 100], true),
            ]);
            let cut = cut.min(body.len());
            if let Ok(env) = parse(&body[..cut]) {
                prop_assert!(env.items.len() <= 2);
                for item in &env.items {
                    if item.item_type == "attachment" {
                        prop_assert_eq!(item.payload.len(), 100);
                    }
                }
            }
        }
    }
}
