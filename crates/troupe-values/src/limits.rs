//! The limits of one compile, so that no catalog request can take its process down:
//! recursion depth (named frames: functions, templates, defines), stack growth for deep
//! trees, and the budget — a deadline, a memory budget and cancellation — checked at cheap
//! checkpoints (every few hundred expressions, every loop iteration) and before allocations
//! whose size an untrusted number decides.
//!
//! The budget of the running compile lives in a thread-local (a compile runs on one thread),
//! so free functions (`sprintf`, `range`, ...) can ask for room without an evaluator. Once a
//! budget is exceeded it stays exceeded: every later checkpoint fails too, and the compile's
//! result is replaced by the budget's message, so no caught error can hide it.

use crate::error::{EResult, EvalError};
use crate::value::Value;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Named frames (Puppet functions, templates, define instances) deeper than this fail with
/// "recursion deeper than N levels". Ruby Puppet fails runaway recursion with `stack level
/// too deep` at a similar depth.
pub const MAX_DEPTH: usize = 1000;

/// Stack left before a recursive step moves to a fresh segment, and that segment's size. The
/// red zone covers the largest frames between two growth points in debug builds.
const RED_ZONE: usize = 1024 * 1024;
const SEGMENT: usize = 8 * 1024 * 1024;

/// Runs `f`, first moving to a new stack segment (on the heap) when little stack is left.
/// Every recursive walker over trees of unbounded depth (expressions, values, types) calls
/// it at its recursive entry, so depth costs heap, never a stack overflow.
#[inline]
pub fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

/// `grow` only when `deep` (the value is a container): scalars, the common case, skip the
/// stack check.
#[inline]
pub fn grow_if<R>(deep: bool, f: impl FnOnce() -> R) -> R {
    if deep {
        grow(f)
    } else {
        f()
    }
}

/// What a compile may spend. The default is unlimited.
#[derive(Clone, Default)]
pub struct Budget {
    /// Wall time from the start of the compile.
    pub timeout: Option<Duration>,
    /// Bytes the compiling thread may hold on top of what it held when the compile started.
    pub memory_limit: Option<u64>,
    /// Set (by another thread) when the compile's result is no longer wanted.
    pub cancel: Option<Arc<AtomicBool>>,
    /// The net bytes allocated so far by the current thread (a counting global allocator's
    /// reading). Without it, the memory budget only bounds allocations asked for up front.
    pub memory_probe: Option<fn() -> i64>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("timeout", &self.timeout)
            .field("memory_limit", &self.memory_limit)
            .field("cancel", &self.cancel.is_some())
            .field("memory_probe", &self.memory_probe.is_some())
            .finish()
    }
}

/// Why a compile was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Deadline(Duration),
    Memory(u64),
    Cancelled,
}

impl Exceeded {
    /// The message for a compile of `node`.
    pub fn message(&self, node: &str) -> String {
        match self {
            Exceeded::Deadline(d) => {
                format!(
                    "compile of {node} exceeded its deadline of {}",
                    show_duration(*d)
                )
            }
            Exceeded::Memory(n) => format!(
                "compile of {node} exceeded its memory budget of {}",
                show_bytes(*n)
            ),
            Exceeded::Cancelled => {
                format!("compile of {node} cancelled: the agent closed the connection")
            }
        }
    }
}

/// `60 s`, `250 ms`.
pub fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `1 GiB`, `64 MiB`, `1000 bytes`.
pub fn show_bytes(n: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

/// The default `compile_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default `compile_memory_limit`.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// A `compile_timeout` setting: `60`, `60s`, `500ms`, `2m`, `1h`; `0` or `unlimited`: none.
pub fn parse_timeout(s: &str) -> Result<Option<Duration>, String> {
    let s = s.trim();
    if s == "unlimited" {
        return Ok(None);
    }
    let bad = || format!("'{s}' is not a duration (e.g. 60s, 500ms, 2m; 0 for none)");
    let at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..at].parse().map_err(|_| bad())?;
    let d = match &s[at..] {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    Ok((!d.is_zero()).then_some(d))
}

/// A `compile_memory_limit` setting: bytes, or with a unit `k`, `m`, `g` (powers of 1024;
/// `KiB`, `MB`, ... accepted); `0` or `unlimited`: none.
pub fn parse_size(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s == "unlimited" {
        return Ok(None);
    }
    let bad = || format!("'{s}' is not a size (e.g. 1g, 512m, 65536; 0 for none)");
    let at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..at].parse().map_err(|_| bad())?;
    let unit = s[at..].to_ascii_lowercase();
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(1 << shift).ok_or_else(bad)?;
    Ok((bytes > 0).then_some(bytes))
}

struct Active {
    deadline: Option<(Instant, Duration)>,
    memory_limit: Option<u64>,
    base: i64,
    probe: Option<fn() -> i64>,
    cancel: Option<Arc<AtomicBool>>,
    exceeded: Option<Exceeded>,
    /// Checkpoints since the last full check (the clock is read on every 16th).
    ticks: u32,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// Installs `budget` for the compile about to run on this thread; dropping the guard
/// removes it.
#[must_use]
pub fn install(budget: &Budget) -> BudgetGuard {
    let now = Instant::now();
    let active = Active {
        deadline: budget.timeout.map(|t| (now + t, t)),
        memory_limit: budget.memory_limit,
        base: budget.memory_probe.map(|p| p()).unwrap_or(0),
        probe: budget.memory_probe,
        cancel: budget.cancel.clone(),
        exceeded: None,
        ticks: 0,
    };
    let previous = ACTIVE.with(|a| a.borrow_mut().replace(active));
    BudgetGuard { previous }
}

/// Restores the budget that was active before `install` (none, normally).
pub struct BudgetGuard {
    previous: Option<Active>,
}

impl std::fmt::Debug for BudgetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BudgetGuard")
    }
}

impl BudgetGuard {
    /// Why the compile was stopped, if it was.
    pub fn exceeded(&self) -> Option<Exceeded> {
        ACTIVE.with(|a| a.borrow().as_ref().and_then(|a| a.exceeded))
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = ACTIVE.try_with(|a| *a.borrow_mut() = previous);
    }
}

pub fn fail(e: Exceeded) -> EvalError {
    // The node is not known here; `compile` replaces the whole result with the message.
    EvalError::plain(e.message("this node"))
}

impl Active {
    fn used(&self) -> i64 {
        self.probe.map(|p| p() - self.base).unwrap_or(0)
    }

    fn check(&mut self, extra: u64) -> Option<Exceeded> {
        if let Some(e) = self.exceeded {
            return Some(e);
        }
        // Plain checkpoints come often (every lambda call): most of them only count.
        self.ticks = self.ticks.wrapping_add(1);
        if extra == 0 && !self.ticks.is_multiple_of(16) {
            return None;
        }
        let e = if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            Some(Exceeded::Cancelled)
        } else if self.deadline.is_some_and(|(at, _)| Instant::now() >= at) {
            self.deadline.map(|(_, t)| Exceeded::Deadline(t))
        } else {
            match self.memory_limit {
                Some(limit) if self.used().max(0) as u64 + extra > limit => {
                    Some(Exceeded::Memory(limit))
                }
                _ => None,
            }
        };
        self.exceeded = e;
        e
    }
}

/// A checkpoint: fails when the deadline has passed, the memory budget is spent or the
/// compile was cancelled. Cheap (a thread-local, a clock read); without a budget, free.
pub fn checkpoint() -> EResult<()> {
    reserve(0)
}

/// A checkpoint that also asks for `bytes` more: call it before an allocation whose size
/// comes from the manifest or the node (a range, a padding width), so the allocation is
/// refused instead of attempted.
pub fn reserve(bytes: u64) -> EResult<()> {
    let r = ACTIVE.with(|a| a.borrow_mut().as_mut().and_then(|a| a.check(bytes)));
    match r {
        Some(e) => Err(fail(e)),
        None => Ok(()),
    }
}

/// `reserve` for `count` items of `size` bytes each (saturating).
pub fn reserve_items(count: u64, size: usize) -> EResult<()> {
    reserve(count.saturating_mul(size as u64))
}

/// Whether `v` nests containers more than `limit` levels deep (stops as soon as it does).
pub fn value_deeper_than(v: &Value, limit: usize) -> bool {
    let container = matches!(
        v,
        Value::Array(_) | Value::Hash(_) | Value::Sensitive(_) | Value::Deferred(_)
    );
    if !container {
        return false;
    }
    if limit == 0 {
        return true;
    }
    let inner = |x: &Value| value_deeper_than(x, limit - 1);
    match v {
        Value::Array(a) => a.iter().any(inner),
        Value::Hash(h) => h.iter().any(|(k, x)| inner(k) || inner(x)),
        Value::Sensitive(x) => inner(x),
        Value::Deferred(d) => d.1.iter().any(inner),
        _ => false,
    }
}

/// The message when named frames nest too deep.
pub fn too_deep(kind: &str, name: &str) -> EvalError {
    EvalError::new(format!(
        "recursion deeper than {MAX_DEPTH} levels in {kind} '{name}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_with_units() {
        assert_eq!(parse_timeout("60"), Ok(Some(Duration::from_secs(60))));
        assert_eq!(parse_timeout("500ms"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(parse_timeout("2m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(parse_timeout("0"), Ok(None));
        assert!(parse_timeout("soon").is_err());
        assert_eq!(parse_size("1g"), Ok(Some(1 << 30)));
        assert_eq!(parse_size("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_size("65536"), Ok(Some(65536)));
        assert_eq!(parse_size("unlimited"), Ok(None));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn units_print_exactly() {
        assert_eq!(show_bytes(1 << 30), "1 GiB");
        assert_eq!(show_bytes(64 << 20), "64 MiB");
        assert_eq!(show_bytes(1000), "1000 bytes");
        assert_eq!(show_duration(Duration::from_secs(60)), "60 s");
        assert_eq!(show_duration(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn a_reservation_over_the_budget_fails_and_stays_failed() {
        let g = install(&Budget {
            memory_limit: Some(1000),
            ..Default::default()
        });
        assert!(reserve(10).is_ok());
        assert!(reserve(2000).is_err());
        assert!(checkpoint().is_err());
        assert_eq!(g.exceeded(), Some(Exceeded::Memory(1000)));
        drop(g);
        assert!(checkpoint().is_ok());
    }
}
