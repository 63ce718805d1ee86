//! GELF UDP chunking: a datagram starting with `0x1e 0x0f` is chunk `seq`
//! of `count` (at most 128) of message `id`. Chunks are held until the
//! message is whole, for at most `timeout` (Graylog's 5 s), and all
//! pending chunks together for at most `max_bytes`: past that the oldest
//! messages are dropped. Every drop is counted by reason.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::GelfError;
use crate::selfmetrics::{Counter, Registry};

pub const CHUNK_MAGIC: [u8; 2] = [0x1e, 0x0f];

const HEADER: usize = 12;
const MAX_CHUNKS: u8 = 128;

#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    pub timeout_ns: i64,
    pub max_bytes: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            timeout_ns: 5_000_000_000,
            // 128 chunks of 8 KiB is the largest GELF message; room for a
            // few dozen of those at once.
            max_bytes: 32 << 20,
        }
    }
}

struct Pending {
    first_seen_ns: i64,
    chunks: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
}

pub struct ChunkAssembler {
    limits: ChunkLimits,
    pending: HashMap<[u8; 8], Pending>,
    /// Message ids in arrival order, for expiry and eviction (ids already
    /// completed are skipped when met).
    order: VecDeque<[u8; 8]>,
    bytes: usize,
    dropped_timeout: Arc<Counter>,
    dropped_memory: Arc<Counter>,
    invalid: Arc<Counter>,
}

impl ChunkAssembler {
    pub fn new(limits: ChunkLimits, registry: &Registry) -> Self {
        let dropped = registry.counter_vec(
            "belfry_logs_gelf_messages_dropped_total",
            "Chunked GELF messages dropped before they were complete, by reason (timeout, memory) or chunks refused as invalid.",
            &["reason"],
        );
        ChunkAssembler {
            limits,
            pending: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            dropped_timeout: dropped.with(&["timeout"]),
            dropped_memory: dropped.with(&["memory"]),
            invalid: dropped.with(&["invalid_chunk"]),
        }
    }

    /// Bytes of chunks held.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// The whole payload once `datagram` completes it (an unchunked
    /// datagram is whole at once), `None` while chunks are missing.
    pub fn accept(&mut self, datagram: &[u8], now_ns: i64) -> Result<Option<Vec<u8>>, GelfError> {
        self.expire(now_ns);
        if !datagram.starts_with(&CHUNK_MAGIC) {
            return Ok(Some(datagram.to_vec()));
        }
        if datagram.len() < HEADER {
            self.invalid.inc();
            return Err(GelfError::ShortChunk(datagram.len()));
        }
        let id: [u8; 8] = datagram[2..10].try_into().expect("8 bytes");
        let (seq, count) = (datagram[10], datagram[11]);
        if count == 0 || count > MAX_CHUNKS || seq >= count {
            self.invalid.inc();
            return Err(GelfError::ChunkNumbers { seq, count });
        }
        let body = &datagram[HEADER..];
        if count == 1 {
            return Ok(Some(body.to_vec()));
        }
        while self.bytes + body.len() > self.limits.max_bytes {
            if !self.evict_oldest() {
                // This chunk alone is over the cap.
                self.dropped_memory.inc();
                return Ok(None);
            }
            self.dropped_memory.inc();
        }
        let pending = self.pending.entry(id).or_insert_with(|| {
            self.order.push_back(id);
            Pending {
                first_seen_ns: now_ns,
                chunks: vec![None; usize::from(count)],
                received: 0,
                bytes: 0,
            }
        });
        if pending.chunks.len() != usize::from(count) {
            self.invalid.inc();
            return Err(GelfError::ChunkNumbers { seq, count });
        }
        let slot = &mut pending.chunks[usize::from(seq)];
        if slot.is_none() {
            *slot = Some(body.to_vec());
            pending.received += 1;
            pending.bytes += body.len();
            self.bytes += body.len();
        }
        if pending.received < pending.chunks.len() {
            return Ok(None);
        }
        let done = self.pending.remove(&id).expect("present");
        self.bytes -= done.bytes;
        Ok(Some(done.chunks.into_iter().flatten().flatten().collect()))
    }

    /// Drops messages older than the timeout.
    pub fn expire(&mut self, now_ns: i64) {
        while let Some(id) = self.order.front().copied() {
            match self.pending.get(&id) {
                None => {
                    self.order.pop_front();
                }
                Some(p) if now_ns.saturating_sub(p.first_seen_ns) > self.limits.timeout_ns => {
                    self.order.pop_front();
                    let p = self.pending.remove(&id).expect("present");
                    self.bytes -= p.bytes;
                    self.dropped_timeout.inc();
                }
                Some(_) => break,
            }
        }
    }

    fn evict_oldest(&mut self) -> bool {
        while let Some(id) = self.order.pop_front() {
            if let Some(p) = self.pending.remove(&id) {
                self.bytes -= p.bytes;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: u8, seq: u8, count: u8, body: &[u8]) -> Vec<u8> {
        let mut d = vec![0x1e, 0x0f, id, 0, 0, 0, 0, 0, 0, 0, seq, count];
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn graypy_chunks_reassemble_in_any_order() {
        let parts: [&[u8]; 3] = [
            include_bytes!("../../../../tests/fixtures/logs/gelf_graypy_udp_chunk0.bin"),
            include_bytes!("../../../../tests/fixtures/logs/gelf_graypy_udp_chunk1.bin"),
            include_bytes!("../../../../tests/fixtures/logs/gelf_graypy_udp_chunk2.bin"),
        ];
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let registry = Registry::new();
            let mut a = ChunkAssembler::new(ChunkLimits::default(), &registry);
            let mut whole = None;
            for (n, &i) in order.iter().enumerate() {
                let got = a.accept(parts[i], 0).unwrap();
                assert_eq!(got.is_some(), n == 2);
                whole = got.or(whole);
            }
            assert_eq!(a.held_bytes(), 0);
            let e = super::super::decode_payload(&whole.unwrap(), 1 << 20).unwrap();
            assert!(e.line.starts_with("chunked "), "{}", &e.line[..20]);
            assert_eq!(e.line.len(), 8 + 6000);
        }
    }

    #[test]
    fn timeout_memory_cap_and_bad_chunks_are_counted() {
        let registry = Registry::new();
        let mut a = ChunkAssembler::new(
            ChunkLimits {
                timeout_ns: 1000,
                max_bytes: 10,
            },
            &registry,
        );
        assert_eq!(a.accept(&chunk(1, 0, 2, b"aaaa"), 0), Ok(None));
        assert_eq!(a.accept(&chunk(2, 0, 2, b"bbbb"), 500), Ok(None));
        // Over the cap: message 1, the oldest, goes.
        assert_eq!(a.accept(&chunk(3, 0, 2, b"ccc"), 600), Ok(None));
        assert_eq!(a.accept(&chunk(1, 1, 2, b"A"), 700), Ok(None));
        assert_eq!(a.accept(&chunk(2, 1, 2, b"B"), 800), Ok(Some(b"bbbbB".to_vec())));
        // Message 3 and the late half of 1 time out.
        assert_eq!(
            a.accept(b"{\"plain\":1}", 5000),
            Ok(Some(b"{\"plain\":1}".to_vec()))
        );
        assert_eq!(a.held_bytes(), 0);
        assert_eq!(a.accept(&chunk(4, 0, 2, b"this is over ten"), 5000), Ok(None));
        assert_eq!(
            a.accept(&chunk(5, 2, 2, b""), 5000),
            Err(GelfError::ChunkNumbers { seq: 2, count: 2 })
        );
        assert_eq!(
            a.accept(&chunk(5, 0, 129, b""), 5000),
            Err(GelfError::ChunkNumbers { seq: 0, count: 129 })
        );
        assert_eq!(a.accept(&[0x1e, 0x0f, 1], 5000), Err(GelfError::ShortChunk(3)));
        assert_eq!(
            a.accept(&chunk(6, 0, 1, b"single"), 5000),
            Ok(Some(b"single".to_vec()))
        );
        let text = registry.render();
        assert!(
            text.contains(r#"belfry_logs_gelf_messages_dropped_total{reason="memory"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"belfry_logs_gelf_messages_dropped_total{reason="timeout"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"belfry_logs_gelf_messages_dropped_total{reason="invalid_chunk"} 3"#),
            "{text}"
        );
    }
}
