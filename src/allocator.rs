//! The process's allocator: mimalloc (the default `mimalloc` feature), set
//! to give freed memory back to the system soon.
//!
//! Log ingest allocates a string or map node per JSON value and frees
//! most of them on other threads (the committer, tantivy's indexer);
//! glibc's malloc spent a quarter of ingest's CPU on that, much of it
//! waiting on its arenas' locks, where mimalloc frees across threads
//! without a lock. mimalloc keeps freed pages for a purge delay (1 s by
//! default) before returning them; at 5,000 lines/s that held the peak
//! RSS over the 150 MB budget, so the delay is shortened here. An
//! operator's `MIMALLOC_PURGE_DELAY` still wins. The binary and the
//! benches that report the server's figures include this file, so they
//! measure the same allocator (benches/RESULTS.md).
//!
//! The one place that may use `unsafe`: `mi_option_set` is a C function
//! of the linked mimalloc that stores two integers in its option table.
#![allow(unsafe_code)]

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Milliseconds mimalloc keeps freed memory before returning it: long
/// enough that a burst's pages are reused by the next batch, short enough
/// that the pages of records already committed do not add up in RSS.
#[cfg(feature = "mimalloc")]
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (v3, the version
/// the `mimalloc` crate builds by default).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

#[cfg(feature = "mimalloc")]
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Sets the allocator's options; call once, first thing in `main`.
pub fn configure() {
    #[cfg(feature = "mimalloc")]
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set takes two integers, checks the option's
        // range itself and only stores the value in mimalloc's table.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}
