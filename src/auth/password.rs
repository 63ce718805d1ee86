//! Password hashes (argon2id, PHC strings with their own salt and
//! parameters) and the small pool of threads that checks them.
//!
//! A check costs tens of milliseconds of a core and about 19 MiB of
//! memory by design, so logins never run on the async executor or on
//! tokio's blocking pool: a fixed number of threads take them from a
//! bounded queue, and when the queue is full a login is refused at once
//! ([`AuthError::Busy`], counted) instead of waiting without bound. A
//! login flood then costs at most `workers` cores, whatever its rate.

use std::cell::RefCell;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
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
/// derived keys is constant-time (`phc::Output`'s equality); a hash that
/// does not parse, or asks for more memory than [`MAX_CHECK_KIB`], never
/// matches.
///
/// argon2's own `verify_password` allocates its ~19 MiB of blocks for
/// each check and frees them after; under a login flood that is a fresh
/// mapping, its page faults and an unmapping (with the TLB flushes that
/// reach every core, queries' included) per attempt. The checks run on a
/// few fixed threads, so each thread keeps its blocks between checks
/// instead ([`release_check_memory`] gives them back once logins stop).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_CHECK_KIB {
        return false;
    }
    let blocks_needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; MAX_OUTPUT_LEN];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let hashed = CHECK_MEMORY.with_borrow_mut(|blocks| {
        blocks.resize(blocks_needed, Block::default());
        argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            out,
            &mut blocks[..blocks_needed],
        )
    });
    if hashed.is_err() {
        return false;
    }
    Output::new(out).is_ok_and(|computed| computed == *expected)
}

/// The most memory a stored hash may ask one check for (256 MiB, over ten
/// times the default): a hash edited to ask for more must not make a
/// login thread hold it.
const MAX_CHECK_KIB: u32 = 256 * 1024;

/// The longest derived key a PHC string carries (`phc::Output`'s limit).
const MAX_OUTPUT_LEN: usize = 64;

thread_local! {
    /// A password-check thread's argon2 blocks, kept between checks.
    static CHECK_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Gives the current thread's kept argon2 blocks back, so an idle server
/// does not hold a login's memory.
fn release_check_memory() {
    CHECK_MEMORY.with_borrow_mut(|blocks| *blocks = Vec::new());
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

/// How long a check thread keeps its argon2 memory without a login: long
/// enough to span the gaps of a flood, short enough that an idle server
/// holds none.
const KEEP_CHECK_MEMORY: Duration = Duration::from_secs(10);

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while taking a job, not while running it.
        let job = rx.lock().recv_timeout(KEEP_CHECK_MEMORY);
        match job {
            Ok(job) => job(),
            Err(RecvTimeoutError::Timeout) => release_check_memory(),
            Err(RecvTimeoutError::Disconnected) => return,
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

    /// The kept-memory check answers as argon2's own verifier does, for
    /// hashes of other parameters, variants and key lengths checked one
    /// after another on one thread (the kept blocks grow and shrink).
    #[test]
    fn the_check_agrees_with_argon2s_own_verifier() {
        use argon2::{ParamsBuilder, PasswordVerifier};
        let hashes: Vec<String> = [
            (Algorithm::Argon2id, 19 * 1024, 2, 1, 32),
            (Algorithm::Argon2i, 8, 1, 1, 16),
            (Algorithm::Argon2d, 4 * 1024, 3, 2, 64),
            (Algorithm::Argon2id, 64, 1, 1, 32),
        ]
        .into_iter()
        .map(|(algorithm, m, t, p, len)| {
            let params = ParamsBuilder::new()
                .m_cost(m)
                .t_cost(t)
                .p_cost(p)
                .output_len(len)
                .build()
                .unwrap();
            Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"s3cret pw")
                .unwrap()
                .to_string()
        })
        .collect();
        for phc in hashes.iter().chain([&hashes[0]]) {
            for guess in ["s3cret pw", "s3cret pW", ""] {
                let theirs = Argon2::default()
                    .verify_password(guess.as_bytes(), phc.as_str())
                    .is_ok();
                assert_eq!(verify(guess, phc), theirs, "{guess:?} against {phc}");
            }
            assert!(verify("s3cret pw", phc), "{phc}");
        }
    }

    #[test]
    fn a_hash_asking_for_too_much_memory_never_matches() {
        let phc = hash("pw").unwrap();
        let greedy = phc.replace("m=19456", &format!("m={}", MAX_CHECK_KIB + 1));
        assert!(!verify("pw", &greedy));
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
