//! Shared by every fuzz target: a global allocator that enforces the allocation bound, and the
//! names the targets give their in-memory files.
//!
//! **The bound.** No single allocation may exceed [`MAX_ALLOCATION`] (64 MiB) and the live heap
//! may never exceed [`MAX_LIVE`] (256 MiB), for inputs of at most `-max_len` bytes (≤ 1 MiB,
//! see `run.sh`). A parser that trusts a header claiming 10¹² elements breaks the first rule;
//! one that decompresses a gzip bomb breaks the second. Either aborts the process, which
//! libFuzzer reports as a crash and saves the input under `artifacts/`. libFuzzer's own
//! `-malloc_limit_mb` needs a sanitizer's malloc hooks, which a `--sanitizer none` build has
//! not, hence this allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation a parser may make (64 MiB).
pub const MAX_ALLOCATION: usize = 64 << 20;
/// The most heap a parser may hold at once (256 MiB).
pub const MAX_LIVE: usize = 256 << 20;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, refusing to serve beyond the bound.
pub struct Bounded;

#[cold]
fn over_bound(what: &str, bytes: usize) -> ! {
    // no formatting machinery that could allocate: a fixed message and the digits by hand
    let mut digits = [0u8; 20];
    let mut n = bytes;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(b"\n==bpdl-fuzz== allocation bound exceeded: ");
    let _ = err.write_all(what.as_bytes());
    let _ = err.write_all(b" of ");
    let _ = err.write_all(&digits[i..]);
    let _ = err.write_all(b" bytes\n");
    std::process::abort()
}

impl Bounded {
    fn admit(size: usize) {
        if size > MAX_ALLOCATION {
            over_bound("one allocation", size);
        }
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        if live > MAX_LIVE {
            over_bound("live heap", live);
        }
    }
}

// SAFETY: every call is delegated to `System` with the caller's arguments; only counts.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::admit(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::admit(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::admit(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Bounded = Bounded;

/// Splits `data` into lines of UTF-8 text (invalid bytes replaced), for targets that take a
/// list of strings.
pub fn lines(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .lines()
        .map(str::to_string)
        .collect()
}
