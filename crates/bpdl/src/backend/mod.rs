//! The dense-math seam: every matrix operation of the model goes through a [`Device`].
//!
//! Matrices are row-major `f32` arrays on `ndarray` storage ([`Matrix`]); a minibatch is a
//! `[batch, units]` matrix, one example per row, and a weight matrix is `[n_in, n_out]`, so a
//! layer is `Y = φ(X·W + 1bᵀ)`. The operations are:
//!
//! * [`Device::matmul`]: `C ← β·C + α·A·B` through the `gemm` crate, for any strides, so a
//!   transposed view `h.t()` costs no copy;
//! * [`Device::affine`]: `Y = φ(X·W + 1bᵀ)`, one GEMM then bias and non-linearity in one
//!   parallel pass over its output;
//! * [`Device::affine_packed`]: the same with the weights packed once and reused
//!   ([`packed`]), and bias and non-linearity applied in the kernel's output pass: the hot path
//!   of INFERENCE;
//! * the fused elementwise kernels of inference and learning ([`elementwise`]);
//! * seeded noise fills ([`noise`]) and the presynaptic spike trains of the spiking M-step with
//!   their kernel sums and voltage steps ([`spikes`]);
//! * the optimizer steps ([`optimizer_steps`]), the top prior's Gaussian operations
//!   ([`gaussian`]), the lateral top prior's rule and Gibbs sweeps ([`lateral`]), the Parzen
//!   densities ([`parzen`]), the reductions read back by training ([`reductions`]) and
//!   independent work items ([`Device::map_indexed`]);
//! * the back-propagation kernels of the evaluation classifier and of the baseline
//!   ([`classifier`]), the linear readout's standardisation and momentum step ([`readout`]),
//!   the feature-space reductions of the sample-quality measures ([`features`]) and the f64
//!   symmetric eigendecomposition ([`eigen`]).
//!
//! The thread count is explicit: a `Device` owns a rayon pool of exactly that many threads and
//! every operation (GEMM included) runs in it, and its threads flush denormal numbers to zero;
//! each operation enters the pool itself, so callers never manage threads. The numerical code
//! outside `backend/` calls these operations and no other parallel or BLAS-like routine, so
//! another backend (CUDA) can later implement the same operations behind this type. (The
//! storage is still host `ndarray`: the model owns `Matrix` values, and tests and file I/O read
//! them directly.)

pub mod classifier;
pub mod eigen;
pub mod elementwise;
pub mod fastmath;
pub mod features;
pub mod gaussian;
pub mod lateral;
pub mod noise;
mod nonlinearity;
pub mod optimizer_steps;
pub mod packed;
pub mod parzen;
pub mod readout;
pub mod reductions;
pub mod shapes;
pub mod spikes;
pub mod spiking_inference;

pub use packed::{PackedLayer, PackedRows, PackedWeights};

use std::sync::Arc;

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use crate::activation::Activation;
use crate::error::{Error, Result};

/// A row-major `f32` matrix: `[rows, cols]`.
pub type Matrix = Array2<f32>;

/// Where the numbers are crunched: the CPU, with an explicit number of threads.
#[derive(Clone)]
pub struct Device {
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device::Cpu {{ threads: {} }}", self.threads)
    }
}

impl Device {
    /// The CPU with `threads` worker threads (0 = one per available core).
    pub fn cpu(threads: usize) -> Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("bpdl-{i}"))
            .start_handler(|_| flush_denormals_to_zero())
            .build()
            .map_err(|e| Error::Usage(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Self {
            threads,
            pool: Arc::new(pool),
        })
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` inside this device's thread pool (cheap when already inside it). Drivers wrap a
    /// whole training loop in one call so that the per-operation calls below stay direct.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Runs `a` and `b` concurrently, each on a one-thread view of this device (same pool).
    /// Two small independent products (batch × 1000 × 100) scale better this way than one
    /// after the other with two threads each. With one thread they simply run in turn.
    pub(crate) fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce(&Device) -> A + Send,
        b: impl FnOnce(&Device) -> B + Send,
    ) -> (A, B) {
        if self.threads < 2 {
            return (a(self), b(self));
        }
        let solo = self.single_thread();
        self.install(|| rayon::join(|| a(&solo), || b(&solo)))
    }

    /// `[f(0), …, f(n − 1)]`, computed concurrently on this device's threads and returned in
    /// order: independent work items that each draw from their own stream (the trials of a
    /// simulation), so the result does not depend on the thread count.
    pub fn map_indexed<T: Send>(&self, n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        use rayon::prelude::*;
        self.install(|| (0..n).into_par_iter().map(f).collect())
    }

    /// A one-thread view of this device (same pool), for work items that run side by side.
    pub(crate) fn single_thread(&self) -> Device {
        Device {
            threads: 1,
            pool: Arc::clone(&self.pool),
        }
    }

    /// Identifies this device's thread pool (shared by its one-thread views).
    pub(crate) fn pool_id(&self) -> usize {
        Arc::as_ptr(&self.pool) as usize
    }

    fn gemm_parallelism(&self) -> gemm::Parallelism {
        if self.threads > 1 {
            gemm::Parallelism::Rayon(self.threads)
        } else {
            gemm::Parallelism::None
        }
    }

    /// `C ← β·C + α·A·B` (C is not read when β = 0, so it may hold garbage).
    ///
    /// Any strides are accepted: pass `x.t()` for `xᵀ` without copying.
    ///
    /// # Shapes
    /// `a: [m, k]`, `b: [k, n]`, `c: [m, n]`.
    ///
    /// # Panics
    /// If the shapes disagree: callers own their buffers, so this is a programming error.
    ///
    /// ```
    /// use ndarray::array;
    /// let dev = bpdl::Device::cpu(1).unwrap();
    /// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
    /// let b = array![[5.0f32, 6.0], [7.0, 8.0]];
    /// let mut c = ndarray::Array2::<f32>::ones((2, 2));
    /// dev.matmul(1.0, a.view(), b.t(), 1.0, c.view_mut()); // c = 1 + a·bᵀ
    /// assert_eq!(c, array![[18.0, 24.0], [40.0, 54.0]]);
    /// ```
    pub fn matmul(
        &self,
        alpha: f32,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
        beta: f32,
        mut c: ArrayViewMut2<'_, f32>,
    ) {
        let (m, k) = a.dim();
        let (k2, n) = b.dim();
        assert!(
            k == k2 && c.dim() == (m, n),
            "matmul shapes: a {:?} · b {:?} into c {:?}",
            a.dim(),
            b.dim(),
            c.dim()
        );
        if m == 0 || n == 0 {
            return;
        }
        shapes::record(
            self.pool_id(),
            m,
            k,
            n,
            a.strides()[0] == 1 && m > 1,
            b.strides()[0] == 1 && k > 1,
        );
        if k == 0 {
            c.mapv_inplace(|v| if beta == 0.0 { 0.0 } else { beta * v });
            return;
        }
        let (sa, sb, sc) = (a.strides(), b.strides(), c.strides());
        let (sc0, sc1) = (sc[0], sc[1]);
        let par = self.gemm_parallelism();
        let _in_flight = shapes::GemmInFlight::enter();
        self.install(|| {
            // SAFETY: the pointers come from live ndarray views whose shapes were checked above;
            // every index gemm touches, (i, j) with i < m, j < n (and depth < k), lies inside the
            // corresponding view given its strides. `c` is a unique mutable borrow, so it cannot
            // alias `a` or `b`. gemm's convention: dst = alpha_g·dst + beta_g·lhs·rhs with
            // (column stride, row stride) pairs; dst is read only when `beta != 0`.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    sc1,
                    sc0,
                    beta != 0.0,
                    a.as_ptr(),
                    sa[1],
                    sa[0],
                    b.as_ptr(),
                    sb[1],
                    sb[0],
                    beta,
                    alpha,
                    false,
                    false,
                    false,
                    par,
                );
            }
        });
    }

    /// `Y = φ(X·W + 1bᵀ)`: one GEMM, then bias and non-linearity in one parallel pass.
    ///
    /// # Shapes
    /// `x: [batch, n_in]`, `w: [n_in, n_out]`, `b: [n_out]`, `y: [batch, n_out]`.
    pub fn affine(
        &self,
        x: ArrayView2<'_, f32>,
        w: ArrayView2<'_, f32>,
        b: ArrayView1<'_, f32>,
        act: Activation,
        mut y: ArrayViewMut2<'_, f32>,
    ) {
        assert_eq!(b.len(), w.ncols(), "bias length vs weight columns");
        self.matmul(1.0, x, w, 0.0, y.view_mut());
        let bias = b.as_slice().expect("a bias vector is contiguous");
        self.for_rows(y, |_, mut row| {
            let row = row.as_slice_mut().expect("output rows are contiguous");
            elementwise::bias_activation(row, bias, act);
        });
    }

    /// Runs `f(row_index, row)` on every row of `m`, in parallel.
    pub(crate) fn for_rows<F>(&self, mut m: ArrayViewMut2<'_, f32>, f: F)
    where
        F: Fn(usize, ArrayViewMut1<'_, f32>) + Sync + Send,
    {
        self.install(|| {
            Zip::indexed(m.axis_iter_mut(Axis(0))).par_for_each(f);
        });
    }

    /// Runs `f(row_index, out_row, in_row)` on every row pair, in parallel.
    pub(crate) fn for_rows2<F>(&self, mut out: ArrayViewMut2<'_, f32>, a: ArrayView2<'_, f32>, f: F)
    where
        F: Fn(usize, ArrayViewMut1<'_, f32>, ArrayView1<'_, f32>) + Sync + Send,
    {
        assert_eq!(out.dim(), a.dim(), "for_rows2 shapes");
        self.install(|| {
            Zip::indexed(out.axis_iter_mut(Axis(0)))
                .and(a.axis_iter(Axis(0)))
                .par_for_each(f);
        });
    }
}

/// Sets the calling thread's floating-point control to flush denormal results and inputs to zero
/// (x86 MXCSR FTZ and DAZ bits), as numerical libraries commonly do. Denormals (|v| < 1.2·10⁻³⁸)
/// carry no useful information here, but arithmetic on them is up to ~100× slower: a run whose
/// codes saturate would otherwise crawl (an epoch took 920 s instead of 23 s when Adam made h1
/// run away). Every worker thread of a [`Device`] runs with this setting.
fn flush_denormals_to_zero() {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write the thread's SSE control register through a
        // valid, aligned u32; setting FTZ (bit 15) and DAZ (bit 6) only changes rounding of
        // denormal values, which is sound for every later instruction.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
            csr |= (1 << 15) | (1 << 6);
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without FTZ, f32::MIN_POSITIVE / 4 is a denormal (2.9e-39); with it, exactly 0.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn worker_threads_flush_denormals_to_zero() {
        let dev = Device::cpu(2).unwrap();
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let quarter = dev.install(|| std::hint::black_box(tiny) / std::hint::black_box(4.0f32));
        assert_eq!(quarter, 0.0);
        // the calling thread is untouched
        assert!(std::hint::black_box(tiny) / std::hint::black_box(4.0f32) > 0.0);
    }
}
