//! Password hashes (argon2id, PHC strings with their own salt and
//! parameters) and the small pool of threads that checks them.
//!
//! A check costs tens of milliseconds of a core and about 19 MiB of
//! memory by design, so logins never run on the async executor or on
//! tokio's blocking pool: a fixed number of threads take them from a
//! bounded queue, and when the queue is full a login is refused at once
//! ([`AuthError::Busy`], counted) instead of waiting without bound. A
//! login flood then costs at most `workers` cores, whatever its rate.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::AuthError;
use crate::selfmetrics::Counter;

/// A new argon2id hash of `password` with a random salt, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`). The parameters are
/// argon2's defaults, OWASP's recommendation for argon2id; they are
/// stored in each hash, so raising them later keeps old hashes valid.
pub fn hash(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Whether `password` matches the PHC string `phc`. The comparison of the
/// derived keys is constant-time (argon2's own); a hash that does not
/// parse never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash no password is known for: checked against when a login names an
/// unknown user, so that answer takes as long as a wrong password does
/// and timing does not tell which users exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let random: [u8; 24] = rand::random();
        let password: String = random.iter().map(|b| format!("{b:02x}")).collect();
        hash(&password).expect("hashing a random password with default parameters")
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// The fixed threads password checks run on; dropping the pool lets its
/// threads finish the queued checks and exit.
pub struct PasswordPool {
    tx: SyncSender<Job>,
    full: Arc<Counter>,
}

impl PasswordPool {
    /// `workers` threads and room for `queue` checks waiting beside them;
    /// `full` counts the checks refused because the queue was full.
    pub fn start(workers: usize, queue: usize, full: Arc<Counter>) -> PasswordPool {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("belfry-password-{i}"))
                .spawn(move || {
                    super::low_priority::lower_current_thread();
                    work(&rx)
                })
                .expect("spawning a password check thread");
        }
        PasswordPool { tx, full }
    }

    /// Queues `f`; its result arrives on the receiver. Refused with
    /// [`AuthError::Busy`] when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, AuthError> {
        let (done, wait) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        match self.tx.try_send(job) {
            Ok(()) => Ok(wait),
            Err(TrySendError::Full(_)) => {
                self.full.inc();
                Err(AuthError::Busy)
            }
            // The threads only stop when the pool is dropped, which
            // cannot happen while `self` is borrowed; a panicked check
            // took its thread with it, so report it as busy, not a crash.
            Err(TrySendError::Disconnected(_)) => Err(AuthError::Busy),
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, not while running it.
        let job = rx.lock().recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn hash_is_argon2id_salted_and_never_the_password() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert!(!a.contains("correct horse battery"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(verify("correct horse battery", &b));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("", &a));
        assert!(!verify("correct horse battery", "not a phc string"));
    }

    #[test]
    fn the_decoy_matches_no_guess() {
        assert!(decoy_hash().starts_with("$argon2id$"));
        assert!(!verify("", decoy_hash()));
        assert!(!verify("password", decoy_hash()));
    }

    #[test]
    fn a_full_queue_refuses_and_counts() {
        let full = Arc::new(Counter::default());
        let pool = PasswordPool::start(1, 1, full.clone());
        // Hold the one worker, then fill the one queue slot.
        let gate = Arc::new(Barrier::new(2));
        let held = {
            let gate = gate.clone();
            pool.submit(move || {
                gate.wait();
                1
            })
            .unwrap()
        };
        // The worker may not have taken the first job yet, so the queue
        // may hold it: submit until refused, which must happen by the
        // third job at most (one running, one queued).
        let mut accepted = Vec::new();
        let mut refused = None;
        for i in 0..3 {
            match pool.submit(move || i + 2) {
                Ok(rx) => accepted.push(rx),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        assert!(matches!(refused, Some(AuthError::Busy)), "{refused:?}");
        assert_eq!(full.get(), 1);
        gate.wait();
        assert_eq!(held.blocking_recv().unwrap(), 1);
        for rx in accepted {
            assert!(rx.blocking_recv().unwrap() >= 2);
        }
    }
}
