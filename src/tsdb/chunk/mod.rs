//! Chunk codecs: the Gorilla-style XOR chunk the head appends to, the `pco`
//! long chunk the compactor writes, and an owning iterator over either.
//! Every encoded chunk starts with a tag byte naming its kind.

mod bits;
mod error;
mod owned_iter;
mod pco;
mod xor;

#[cfg(test)]
mod size_tests;

pub use error::ChunkError;
pub use owned_iter::{OwnedChunkIter, decode_chunk_into};
pub use pco::{PCO_MAX_SAMPLES, decode_pco, encode_pco};
pub use xor::{XOR_MAX_SAMPLES, XorChunk, XorIter};

pub(crate) const TAG_XOR: u8 = 0x01;
pub(crate) const TAG_PCO: u8 = 0x02;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    Xor,
    Pco,
}

impl ChunkKind {
    pub fn name(self) -> &'static str {
        match self {
            ChunkKind::Xor => "xor",
            ChunkKind::Pco => "pco",
        }
    }
}

/// Reads the tag byte of encoded chunk bytes.
pub fn chunk_kind(bytes: &[u8]) -> Result<ChunkKind, ChunkError> {
    match bytes.first() {
        None => Err(ChunkError::Empty),
        Some(&TAG_XOR) => Ok(ChunkKind::Xor),
        Some(&TAG_PCO) => Ok(ChunkKind::Pco),
        Some(&other) => Err(ChunkError::UnknownTag(other)),
    }
}

#[doc(hidden)]
pub mod testdata;
