//! A counting global allocator. It wraps mimalloc (a third faster than glibc's malloc on the
//! evaluator's many small allocations: the `rich` catalog in 0.40 ms instead of 0.60) and
//! keeps, per thread, the
//! net number of bytes that thread has allocated (allocations minus frees, so memory freed
//! by another thread shows as a negative amount there). A compile runs on one thread, so
//! the difference of two readings on that thread is what the compile holds: the evaluator's
//! memory budget reads it through a plain `fn() -> i64` (`troupe_eval::limits::Budget`),
//! knowing nothing of allocators.
//!
//! The counter is a `Cell<i64>` in a `thread_local!` with a const initializer: no lazy
//! initialization, no destructor, so the allocator never allocates or re-enters itself.

use mimalloc::MiMalloc as System;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

thread_local! {
    static NET: Cell<i64> = const { Cell::new(0) };
}

/// mimalloc, counting.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

#[inline]
fn count(delta: i64) {
    // `try_with`: during thread teardown the slot may be gone; the count no longer matters.
    let _ = NET.try_with(|n| n.set(n.get().wrapping_add(delta)));
}

/// The net bytes allocated by the calling thread since it started.
pub fn thread_net_bytes() -> i64 {
    NET.try_with(|n| n.get()).unwrap_or(0)
}

// SAFETY: every method forwards to mimalloc (`System` here) with the caller's arguments unchanged and only
// adds bookkeeping on a thread-local `Cell` (which neither allocates nor panics).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static A: Counting = Counting;

    #[test]
    fn counts_what_this_thread_holds() {
        let before = thread_net_bytes();
        let v: Vec<u8> = Vec::with_capacity(1 << 20);
        let during = thread_net_bytes();
        assert!(during - before >= 1 << 20, "{before} {during}");
        drop(v);
        assert!(thread_net_bytes() - before < 1 << 10);
    }

    #[test]
    fn other_threads_do_not_count_here() {
        let before = thread_net_bytes();
        let h = std::thread::spawn(|| {
            let v = vec![0u8; 1 << 20];
            std::hint::black_box(&v);
            thread_net_bytes()
        });
        let theirs = h.join().expect("thread");
        assert!(theirs < 1 << 20);
        assert!(thread_net_bytes() - before < 1 << 16);
    }
}
