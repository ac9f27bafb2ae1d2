//! One helper process: started from the embedded `helper.rb`, spoken to in JSON lines, its
//! stderr kept (the last lines, for failure messages), and watched: a request that
//! overruns its deadline gets the process killed.

use crate::{Config, Failure, HELPER_RB};
use serde_json::{Map, Value as J};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many lines of the helper's stderr a failure message may quote.
const TAIL: usize = 12;
/// A line longer than this from the helper is a protocol failure (a runaway function).
const MAX_LINE: usize = 256 << 20;

#[derive(Debug)]
pub(crate) struct Helper {
    child: Arc<Mutex<Child>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    tail: Arc<Mutex<VecDeque<String>>>,
    /// Milliseconds since the epoch by which Ruby must answer; 0 while troupe is working.
    deadline: Arc<AtomicU64>,
    dead: Arc<AtomicBool>,
    timeout: Duration,
    /// Why the watchdog killed it, if it did.
    killed: Arc<Mutex<Option<String>>>,
    pub(crate) pid: u32,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The helper program on disk (written once per content, under the temp directory).
fn script() -> Result<PathBuf, Failure> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in HELPER_RB.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let path = std::env::temp_dir().join(format!("troupe-ruby-helper-{h:016x}.rb"));
    if std::fs::read_to_string(&path).ok().as_deref() == Some(HELPER_RB) {
        return Ok(path);
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, HELPER_RB)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            Failure::Helper(format!(
                "cannot write the Ruby helper to {}: {e}",
                path.display()
            ))
        })?;
    Ok(path)
}

impl Helper {
    /// Starts a helper and waits for its `hello` (Puppet loaded).
    pub(crate) fn start(config: &Config) -> Result<Helper, Failure> {
        let path = script()?;
        let mut child = Command::new(&config.ruby)
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Failure::Helper(if e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "Ruby is not installed ({} not found); install Debian's puppet-agent or ruby-puppet to run Ruby functions and templates",
                        config.ruby.display()
                    )
                } else {
                    format!("cannot start {}: {e}", config.ruby.display())
                })
            })?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Helper("the Ruby helper has no pipes".into()));
        };
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        {
            let tail = tail.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut t) = tail.lock() {
                        if t.len() == TAIL {
                            t.pop_front();
                        }
                        t.push_back(line);
                    }
                }
            });
        }
        let child = Arc::new(Mutex::new(child));
        let deadline = Arc::new(AtomicU64::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(Mutex::new(None));
        {
            let (child, deadline, dead, killed) = (
                child.clone(),
                deadline.clone(),
                dead.clone(),
                killed.clone(),
            );
            std::thread::spawn(move || watch(child, deadline, dead, killed));
        }
        let mut h = Helper {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            tail,
            deadline,
            dead,
            timeout: config.call_timeout,
            killed,
            pid,
        };
        h.deadline.store(
            now_ms() + config.start_timeout.as_millis() as u64,
            Ordering::Relaxed,
        );
        let hello = h.read()?;
        h.idle();
        if hello.get("op").and_then(J::as_str) != Some("hello") {
            return Err(h.broken("the Ruby helper did not greet"));
        }
        Ok(h)
    }

    pub(crate) fn alive(&self) -> bool {
        !self.dead.load(Ordering::Relaxed)
    }

    /// Ruby is working: the deadline runs.
    pub(crate) fn busy(&self) {
        self.deadline.store(
            now_ms() + self.timeout.as_millis() as u64,
            Ordering::Relaxed,
        );
    }

    /// Troupe is working (or nothing is): no deadline.
    pub(crate) fn idle(&self) {
        self.deadline.store(0, Ordering::Relaxed);
    }

    pub(crate) fn write(&mut self, msg: &J) -> Result<(), Failure> {
        let mut line = serde_json::to_vec(msg)
            .map_err(|e| Failure::Helper(format!("cannot encode a request: {e}")))?;
        line.push(b'\n');
        if let Err(e) = self
            .stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
        {
            return Err(self.broken(&format!("the Ruby helper stopped reading ({e})")));
        }
        Ok(())
    }

    pub(crate) fn read(&mut self) -> Result<Map<String, J>, Failure> {
        let mut line = String::new();
        match (&mut self.stdout)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
        {
            Ok(0) => return Err(self.broken("the Ruby helper exited")),
            Ok(_) if !line.ends_with('\n') => {
                return Err(self.broken("the Ruby helper wrote an overlong answer"))
            }
            Ok(_) => {}
            Err(e) => return Err(self.broken(&format!("cannot read the Ruby helper ({e})"))),
        }
        match serde_json::from_str::<J>(&line) {
            Ok(J::Object(m)) => Ok(m),
            _ => Err(self.broken("the Ruby helper broke the protocol")),
        }
    }

    /// Marks the helper dead (it is killed when dropped) and says why, with its stderr.
    pub(crate) fn broken(&mut self, what: &str) -> Failure {
        self.dead.store(true, Ordering::Relaxed);
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let why = self.killed.lock().ok().and_then(|k| k.clone());
        let what = why.as_deref().unwrap_or(what);
        // Give the stderr reader a moment to collect the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail: Vec<String> = self
            .tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        if tail.is_empty() {
            Failure::Helper(format!("{what} (pid {})", self.pid))
        } else {
            Failure::Helper(format!(
                "{what} (pid {}); its last words: {}",
                self.pid,
                tail.join(" | ")
            ))
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.dead.store(true, Ordering::Relaxed);
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Kills the helper when a request overruns its deadline; ends when the helper is dead.
fn watch(
    child: Arc<Mutex<Child>>,
    deadline: Arc<AtomicU64>,
    dead: Arc<AtomicBool>,
    killed: Arc<Mutex<Option<String>>>,
) {
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if dead.load(Ordering::Relaxed) {
            return;
        }
        let d = deadline.load(Ordering::Relaxed);
        let Ok(mut c) = child.lock() else { return };
        if d != 0 && now_ms() > d {
            if let Ok(mut k) = killed.lock() {
                *k = Some("the Ruby helper overran its deadline and was killed".into());
            }
            dead.store(true, Ordering::Relaxed);
            let _ = c.kill();
            return;
        }
        if matches!(c.try_wait(), Ok(Some(_)) | Err(_)) {
            dead.store(true, Ordering::Relaxed);
            return;
        }
    }
}
