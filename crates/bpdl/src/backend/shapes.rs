//! Recording the GEMM shapes a computation uses, so that a benchmark can time exactly those
//! shapes (with the same operand layouts) and compare a whole step's throughput with them; and
//! knowing when a GEMM is executing (for allocation tests).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Device;

/// One GEMM call: `C[m×n] = A[m×k]·B[k×n]`, with whether A and B were passed transposed
/// (column-major views of row-major storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GemmShape {
    /// Rows of C.
    pub m: usize,
    /// Inner dimension.
    pub k: usize,
    /// Columns of C.
    pub n: usize,
    /// A is a transposed view.
    pub a_transposed: bool,
    /// B is a transposed view.
    pub b_transposed: bool,
}

impl GemmShape {
    /// 2·m·k·n.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.k as f64 * self.n as f64
    }
}

thread_local! {
    static IN_FLIGHT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// True while the calling thread is inside a GEMM call. The `gemm` crate allocates its packing
/// buffers inside each call (on the calling thread); tests that check that the rest of a step
/// allocates nothing ignore allocations made while this is set.
pub fn gemm_in_flight() -> bool {
    IN_FLIGHT.with(|c| c.get() > 0)
}

static CALLS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Number of GEMM calls executing right now on any thread. With several threads the `gemm`
/// crate also allocates on its worker threads, which [`gemm_in_flight`] cannot see; an
/// allocation test can ignore everything while this is non-zero (and then misses allocations of
/// code running concurrently with a GEMM).
pub fn gemm_calls_in_flight() -> usize {
    CALLS_IN_FLIGHT.load(Ordering::SeqCst)
}

/// Marks a GEMM call as executing (on this thread and globally) until dropped.
pub(super) struct GemmInFlight;

impl GemmInFlight {
    pub(super) fn enter() -> Self {
        IN_FLIGHT.with(|c| c.set(c.get() + 1));
        CALLS_IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for GemmInFlight {
    fn drop(&mut self) {
        CALLS_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        IN_FLIGHT.with(|c| c.set(c.get() - 1));
    }
}

/// The thread pool whose products are being recorded ([`Device::pool_id`]); 0 when none.
static RECORDING: AtomicUsize = AtomicUsize::new(0);
static CALLS: Mutex<Vec<GemmShape>> = Mutex::new(Vec::new());
/// One recording at a time.
static RECORDER: Mutex<()> = Mutex::new(());

pub(super) fn record(
    pool: usize,
    m: usize,
    k: usize,
    n: usize,
    a_transposed: bool,
    b_transposed: bool,
) {
    if RECORDING.load(Ordering::Relaxed) == pool
        && let Ok(mut calls) = CALLS.lock()
    {
        calls.push(GemmShape {
            m,
            k,
            n,
            a_transposed,
            b_transposed,
        });
    }
}

/// Runs `f` and returns every GEMM it called on `dev` (or on a one-thread view of it), in
/// order. Products computed meanwhile on other devices (other tests, say) are not recorded.
pub fn recorded<R>(dev: &Device, f: impl FnOnce() -> R) -> (R, Vec<GemmShape>) {
    let _one_at_a_time = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(mut calls) = CALLS.lock() {
        calls.clear();
    }
    RECORDING.store(dev.pool_id(), Ordering::SeqCst);
    let out = f();
    RECORDING.store(0, Ordering::SeqCst);
    let calls = CALLS.lock().map(|c| c.clone()).unwrap_or_default();
    (out, calls)
}
