//! GELF (Graylog Extended Log Format): the JSON payload and its
//! compression (`payload.rs`), UDP chunk reassembly under a timeout and a
//! memory cap (`chunks.rs`), and TCP's NUL-delimited frames (`tcp.rs`).

mod chunks;
mod error;
mod payload;
mod tcp;

pub use chunks::{CHUNK_MAGIC, ChunkAssembler, ChunkLimits};
pub use error::GelfError;
pub use payload::decode_payload;
pub use tcp::NulFramer;
