//! Password checks run at the lowest CPU priority the system gives a
//! thread. argon2 is meant to be expensive; a flood of logins keeps the
//! password threads busy, and at normal priority they would take their
//! cores' time from queries and ingest. At the lowest priority the
//! scheduler gives those cores to any other runnable thread first, so a
//! login flood slows logins, not the server (measured by
//! `benches/login_flood.py`).
//!
//! The one place in `auth` that may use `unsafe`: `setpriority(2)` is a
//! C function; the call passes two integers and a thread id and touches no
//! memory of ours.
#![allow(unsafe_code)]

/// Lowers the calling thread's priority to nice 19. Linux keeps a nice
/// value per thread, so this affects the password threads alone;
/// elsewhere it does nothing. A refusal is harmless (the thread keeps its
/// priority) and logged.
pub(super) fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments and cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        let Ok(tid) = libc::id_t::try_from(tid) else {
            return;
        };
        // SAFETY: setpriority reads its three integer arguments only.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 19) };
        if rc != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot lower the password threads' priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_calling_thread_alone_is_lowered() {
        let nice_of_this_thread = || std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let field = |stat: String| -> i64 {
            // Fields after the parenthesised name; nice is the 19th field.
            let rest = stat.rsplit_once(')').unwrap().1;
            rest.split_whitespace().nth(16).unwrap().parse().unwrap()
        };
        let before = field(nice_of_this_thread());
        let lowered = std::thread::spawn(move || {
            super::lower_current_thread();
            field(nice_of_this_thread())
        })
        .join()
        .unwrap();
        assert_eq!(lowered, 19);
        assert_eq!(field(nice_of_this_thread()), before, "other threads keep theirs");
    }
}
