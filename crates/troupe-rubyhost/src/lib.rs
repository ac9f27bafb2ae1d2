//! `troupe-rubyhost`: a small pool of warm Ruby helper processes for the long tail of Puppet
//! code that troupe has no native version of: module functions written in Ruby (Puppet's 4.x
//! `create_function` and 3.x `newfunction` APIs) and templates its ERB interpreter cannot
//! render. Each helper is `ruby` running `ruby/helper.rb`, which loads Puppet's own library
//! (Debian's `puppet-agent` / `ruby-puppet`) and answers JSON lines on its stdin and stdout.
//!
//! Helpers start lazily, on the first request, and are kept warm; one that dies or overruns
//! its deadline is dropped (killed) and the next request starts another. A request is
//! *re-entrant*: while the helper works on it, it may call back into troupe (a function the
//! Ruby code calls, a variable, a resource), and troupe's answer to that callback may itself
//! make a nested request on the same helper. One chain of requests holds one helper.
//!
//! May call: the standard library and `serde_json` only. It knows nothing of Puppet values:
//! callers (troupe-eval) convert them to and from rich data JSON.

mod helper;
mod session;

pub use session::{Callbacks, Session};

use helper::Helper;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The helper's Ruby program.
pub const HELPER_RB: &str = include_str!("../ruby/helper.rb");

/// How the pool starts and bounds its helpers.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Ruby interpreter (`ruby` on `PATH` by default).
    pub ruby: PathBuf,
    /// At most this many helpers run at once; a request waits for a free one.
    pub max_helpers: usize,
    /// A helper that takes longer than this on one request (time spent in troupe's
    /// callbacks not counted) is killed and the request fails.
    pub call_timeout: Duration,
    /// How long a new helper may take to load Puppet.
    pub start_timeout: Duration,
    /// How long a request waits for a free helper.
    pub wait_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ruby: PathBuf::from("ruby"),
            max_helpers: 2,
            call_timeout: Duration::from_secs(60),
            start_timeout: Duration::from_secs(60),
            wait_timeout: Duration::from_secs(120),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The Ruby code raised: its class, message, and the module file and line it came from.
    /// `remote` is set when the error was troupe's own answer to a callback, passed back.
    Raised {
        class: String,
        message: String,
        file: Option<String>,
        line: Option<u64>,
        remote: bool,
    },
    /// No helper could serve the request: Ruby or Puppet missing, the helper died, or it
    /// overran its deadline. The text says which, with the end of the helper's stderr.
    Helper(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Raised { message, .. } => f.write_str(message),
            Failure::Helper(m) => f.write_str(m),
        }
    }
}

/// What the pool has done, for the status page and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Helpers started (restarts included).
    pub started: u64,
    /// Helpers that are running now (idle or busy).
    pub running: u64,
    /// Requests served (nested ones included).
    pub requests: u64,
    /// Helpers dropped after dying, overrunning or breaking the protocol.
    pub failures: u64,
}

/// The pool: idle helpers kept warm, and a bound on how many run.
#[derive(Debug)]
pub struct Pool {
    config: Config,
    state: Mutex<PoolState>,
    freed: Condvar,
    started: AtomicU64,
    requests: AtomicU64,
    failures: AtomicU64,
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<Helper>,
    running: usize,
}

impl Pool {
    pub fn new(config: Config) -> Pool {
        Pool {
            config,
            state: Mutex::default(),
            freed: Condvar::new(),
            started: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> Stats {
        let running = self.state.lock().map(|s| s.running).unwrap_or(0) as u64;
        Stats {
            started: self.started.load(Ordering::Relaxed),
            running,
            requests: self.requests.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// A helper for one chain of requests: an idle one, a new one if fewer than
    /// `max_helpers` run, else the next one freed.
    pub fn session(self: &Arc<Self>) -> Result<Session, Failure> {
        let deadline = std::time::Instant::now() + self.config.wait_timeout;
        let mut st = self
            .state
            .lock()
            .map_err(|_| Failure::Helper("the Ruby helper pool is poisoned".into()))?;
        loop {
            while let Some(h) = st.idle.pop() {
                if h.alive() {
                    return Ok(Session::new(self.clone(), h));
                }
                st.running = st.running.saturating_sub(1);
            }
            if st.running < self.config.max_helpers.max(1) {
                st.running += 1;
                drop(st);
                self.started.fetch_add(1, Ordering::Relaxed);
                return match Helper::start(&self.config) {
                    Ok(h) => Ok(Session::new(self.clone(), h)),
                    Err(e) => {
                        self.release(None);
                        Err(e)
                    }
                };
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(Failure::Helper(format!(
                    "no Ruby helper became free within {} s ({} running)",
                    self.config.wait_timeout.as_secs(),
                    st.running
                )));
            }
            st = match self.freed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(_) => return Err(Failure::Helper("the Ruby helper pool is poisoned".into())),
            };
        }
    }

    /// Takes a helper back (`None`: it was dropped, and its slot frees).
    fn release(&self, h: Option<Helper>) {
        if let Ok(mut st) = self.state.lock() {
            match h {
                Some(h) if h.alive() => st.idle.push(h),
                _ => {
                    st.running = st.running.saturating_sub(1);
                }
            }
        }
        self.freed.notify_one();
    }
}
