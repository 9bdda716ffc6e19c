//! A layer `Y = φ(X·W + 1bᵀ)` (every map f_l, g_l of the model, paper §4–§6) with the weights
//! packed once and reused by every product, and bias and non-linearity applied in the GEMM's
//! output pass.
//!
//! INFERENCE (Algorithm 2) multiplies by the same four weight matrices in each of its 15
//! iterations. A general GEMM (the `gemm` crate) repacks the 3 MB weight operand into
//! cache-friendly panels on every call: 17 % of a training step's time in a `perf` profile. Here
//! the weights are packed once per INFERENCE call into [`PackedWeights`]: column panels of
//! width [`NR`], each stored `k`-major and zero-padded, so the micro-kernel reads them
//! sequentially:
//!
//! ```text
//! panel p, row q: [W[q, 16p], W[q, 16p + 1], …, W[q, 16p + 15]]   (q = 0 … k − 1)
//! ```
//!
//! X is packed once per product, by the calling thread, into [`PackedRows`] (row panels of
//! height [`MR`]) that the caller owns and reuses, so that a warm product allocates nothing
//! whatever thread runs it. The micro-kernel computes a `6 × 16` tile of `X·W` in twelve AVX2
//! registers with FMA, summing over `k` in order. Each thread owns a contiguous range of panels for all rows, and
//! applies `φ(· + b)` to its columns as soon as they are done. Every output entry is the same
//! ordered sum whatever thread computes it, so results do not depend on the thread count.
//!
//! On CPUs without AVX2 and FMA, [`PackedWeights::pack`] keeps nothing and [`Device::affine_packed`]
//! falls back to [`Device::affine`].

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use super::{Device, elementwise};
use crate::activation::Activation;

/// Rows of the micro-tile (examples).
pub const MR: usize = 6;
/// Columns of the micro-tile and width of a packed panel (output units).
pub const NR: usize = 16;

/// A weight matrix `W: [k, n]` repacked into column panels for [`Device::affine_packed`].
#[derive(Debug, Clone, Default)]
pub struct PackedWeights {
    /// `n.div_ceil(NR)` panels of `k × NR` values; empty when the fast kernel is unavailable.
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl PackedWeights {
    /// Whether this CPU runs the packed kernel (AVX2 and FMA); else the packed form is empty and
    /// products fall back to the general GEMM.
    pub fn supported() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Packs `w` (any strides), reusing this buffer's memory when it is large enough.
    pub fn pack(&mut self, dev: &Device, w: ArrayView2<'_, f32>) {
        let (k, n) = w.dim();
        self.k = k;
        self.n = n;
        let panel = k * NR;
        if !Self::supported() || panel == 0 || n == 0 {
            // nothing to pack: products fall back to the general GEMM
            self.data.clear();
            return;
        }
        self.data.resize(n.div_ceil(NR) * panel, 0.0);
        let row_major = w.as_slice();
        dev.install(|| {
            use rayon::prelude::*;
            self.data
                .par_chunks_mut(panel)
                .enumerate()
                .for_each(|(p, out)| {
                    let j0 = p * NR;
                    let width = NR.min(n - j0);
                    for (q, dst) in out.chunks_exact_mut(NR).enumerate() {
                        match (row_major, width == NR) {
                            // row-major weights, full panel: a fixed 64-byte copy
                            (Some(all), true) => {
                                let src: &[f32; NR] =
                                    all[q * n + j0..][..NR].try_into().expect("NR values");
                                let dst: &mut [f32; NR] = dst.try_into().expect("NR values");
                                *dst = *src;
                            }
                            _ => {
                                for (t, d) in dst.iter_mut().enumerate() {
                                    *d = if t < width { w[[q, j0 + t]] } else { 0.0 };
                                }
                            }
                        }
                    }
                });
        });
    }

    /// `[k, n]` of the packed matrix.
    pub fn dim(&self) -> (usize, usize) {
        (self.k, self.n)
    }

    fn ready(&self) -> bool {
        !self.data.is_empty()
    }
}

/// A layer `φ(· W + b)` whose weights are given both as a view and packed
/// ([`PackedWeights::pack`] of the same matrix), for [`Device::affine_packed`].
#[derive(Debug, Clone, Copy)]
pub struct PackedLayer<'a> {
    /// `W: [k, n]`.
    pub w: ArrayView2<'a, f32>,
    /// `W` packed into column panels.
    pub packed: &'a PackedWeights,
    /// `b: [n]`.
    pub b: ArrayView1<'a, f32>,
    /// `φ`.
    pub activation: Activation,
}

/// The packed operands of one product, as the micro-kernel reads them.
#[derive(Clone, Copy)]
struct Panels<'a> {
    m: usize,
    k: usize,
    n: usize,
    /// X in `MR`-row panels.
    xp: &'a [f32],
    /// W in `NR`-column panels.
    wp: &'a [f32],
}

/// X `[m, k]` repacked into `MR`-row panels for [`Device::affine_packed`]: a buffer the caller
/// owns and passes to every product, grown to the largest X it has held and then reused (one per
/// concurrent product stream).
#[derive(Debug, Clone, Default)]
pub struct PackedRows {
    data: Vec<f32>,
}

impl Device {
    /// `Y = φ(X·W + 1bᵀ)` for a [`PackedLayer`] (`W` given both as a view and packed). Uses the packed kernel when it is available and `y`'s rows are contiguous;
    /// otherwise [`Device::affine`] on the view, which gives the same values up to rounding.
    /// `rows` receives X packed into row panels (its memory is reused from call to call).
    ///
    /// # Shapes
    /// `x: [batch, k]`, `w: [k, n]`, `b: [n]`, `y: [batch, n]`.
    ///
    /// # Panics
    /// If the shapes disagree or `packed` was made from a matrix of another shape.
    pub fn affine_packed(
        &self,
        x: ArrayView2<'_, f32>,
        layer: PackedLayer<'_>,
        rows: &mut PackedRows,
        mut y: ArrayViewMut2<'_, f32>,
    ) {
        let PackedLayer {
            w,
            packed,
            b,
            activation: act,
        } = layer;
        let (m, k) = x.dim();
        let n = w.ncols();
        assert!(
            packed.dim() == w.dim() && w.nrows() == k && y.dim() == (m, n) && b.len() == n,
            "affine_packed shapes: x {:?}, w {:?} (packed {:?}), b {}, y {:?}",
            x.dim(),
            w.dim(),
            packed.dim(),
            b.len(),
            y.dim()
        );
        let row_stride = y.strides()[0];
        if packed.ready() {
            super::shapes::record(self.pool_id(), m, k, n, x.strides()[0] == 1 && m > 1, false);
        }
        if !packed.ready() || (n > 1 && y.strides()[1] != 1) || m == 0 || n == 0 {
            return self.affine(x, w, b, act, y);
        }
        let bias = b.as_slice().expect("a bias vector is contiguous");
        pack_rows(x, &mut rows.data);
        let panels_of = Panels {
            m,
            k,
            n,
            xp: &rows.data,
            wp: &packed.data,
        };
        let panels = n.div_ceil(NR);
        let per_thread = panels.div_ceil(self.threads);
        let out = SendPtr(y.as_mut_ptr());
        let work = |t: usize| {
            let (p0, p1) = (t * per_thread, ((t + 1) * per_thread).min(panels));
            if p0 >= p1 {
                return;
            }
            let (j0, j1) = (p0 * NR, (p1 * NR).min(n));
            // SAFETY: `packed` holds `panels` panels of k × NR values for this k and n (checked
            // above); `xp` holds X in MR-row panels of k × MR values; the output pointer addresses
            // the m × n matrix `y` with unit column stride and row stride `row_stride`, and this
            // thread writes only its columns j0..j1, disjoint from every other thread's.
            unsafe {
                kernel::columns(&panels_of, out.get(), row_stride, (j0, j1));
            }
            for i in 0..m {
                // SAFETY: row i, columns j0..j1 of `y`: inside the matrix, written only by this
                // thread, and no other reference to them is alive.
                let row = unsafe {
                    std::slice::from_raw_parts_mut(
                        out.get().offset(i as isize * row_stride).add(j0),
                        j1 - j0,
                    )
                };
                elementwise::bias_activation(row, &bias[j0..j1], act);
            }
        };
        if self.threads < 2 || panels < 2 {
            work(0);
        } else {
            self.install(|| {
                use rayon::prelude::*;
                (0..self.threads).into_par_iter().for_each(work);
            });
        }
    }
}

/// A raw output pointer shared by the threads, each of which writes disjoint columns.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the threads write disjoint parts of the matrix behind the pointer (see `affine_packed`).
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// X `[m, k]` (any strides) into `m.div_ceil(MR)` panels of `k × MR` values, row r of panel i at
/// offset `q·MR + r`; the missing rows of the last panel are left as they are (never read).
fn pack_rows(x: ArrayView2<'_, f32>, out: &mut Vec<f32>) {
    let (m, k) = x.dim();
    let len = m.div_ceil(MR) * k * MR;
    if out.len() < len {
        out.resize(len, 0.0);
    }
    for (i, panel) in out[..len].chunks_exact_mut(k * MR).enumerate() {
        let rows = MR.min(m - i * MR);
        if rows == MR
            && let Some(all) = x.as_slice()
        {
            // six contiguous rows: read six streams, write the panel sequentially
            let row = |r: usize| &all[(i * MR + r) * k..][..k];
            let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5));
            for (q, dst) in panel.chunks_exact_mut(MR).enumerate() {
                dst.copy_from_slice(&[r0[q], r1[q], r2[q], r3[q], r4[q], r5[q]]);
            }
            continue;
        }
        for r in 0..rows {
            let row = x.row(i * MR + r);
            for (dst, &v) in panel[r..].iter_mut().step_by(MR).zip(&row) {
                *dst = v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use std::arch::x86_64::*;

    use super::{MR, NR, Panels};

    /// Columns `j0..j1` (j0 a multiple of NR) of `C = X·W` for all `m` rows.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `p.xp` holds X packed by `pack_rows` (m rows, depth k); `p.wp`
    /// holds `n.div_ceil(NR)` panels of `k × NR`; `c` addresses an `m × n` matrix with unit
    /// column stride and row stride `c_rs`, whose columns j0..j1 nobody else accesses meanwhile.
    pub unsafe fn columns(p: &Panels<'_>, c: *mut f32, c_rs: isize, (j0, j1): (usize, usize)) {
        let Panels { m, k, n, xp, wp } = *p;
        debug_assert!(xp.len() >= m.div_ceil(MR) * k * MR && wp.len() >= n.div_ceil(NR) * k * NR);
        let mut j = j0;
        while j < j1 {
            let width = NR.min(j1 - j).min(n - j);
            let w = wp[(j / NR) * k * NR..].as_ptr();
            let mut i = 0;
            while i < m {
                let rows = MR.min(m - i);
                let x = xp[(i / MR) * k * MR..].as_ptr();
                // SAFETY: tile rows i..i+rows, columns j..j+width lie inside C; x and w point
                // at panels of k·MR and k·NR values (caller's contract).
                unsafe {
                    let ct = c.offset(i as isize * c_rs).add(j);
                    match rows {
                        6 => tile::<6>(k, x, w, ct, c_rs, width),
                        5 => tile::<5>(k, x, w, ct, c_rs, width),
                        4 => tile::<4>(k, x, w, ct, c_rs, width),
                        3 => tile::<3>(k, x, w, ct, c_rs, width),
                        2 => tile::<2>(k, x, w, ct, c_rs, width),
                        _ => tile::<1>(k, x, w, ct, c_rs, width),
                    }
                }
                i += MR;
            }
            j += NR;
        }
    }

    /// One `R × 16` tile, `C[r, t] = Σ_q X[r, q]·W[q, t]` (q in order), storing `width` columns.
    ///
    /// # Safety
    /// AVX2 + FMA; `x` has `k·MR` values (row r of step q at `q·MR + r`), `w` has `k·NR`;
    /// `c` addresses R rows (stride `c_rs`) of at least `width ≤ 16` writable values.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize>(
        k: usize,
        x: *const f32,
        w: *const f32,
        c: *mut f32,
        c_rs: isize,
        width: usize,
    ) {
        let mut lo = [_mm256_setzero_ps(); R];
        let mut hi = [_mm256_setzero_ps(); R];
        for q in 0..k {
            // SAFETY: q < k, so both loads and the R broadcasts stay inside the panels.
            unsafe {
                let w0 = _mm256_loadu_ps(w.add(q * NR));
                let w1 = _mm256_loadu_ps(w.add(q * NR + 8));
                for r in 0..R {
                    let xv = _mm256_broadcast_ss(&*x.add(q * MR + r));
                    lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
                    hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
                }
            }
        }
        for r in 0..R {
            // SAFETY: row r of the tile has `width` writable values at `c + r·c_rs`.
            unsafe {
                let row = c.offset(r as isize * c_rs);
                if width == NR {
                    _mm256_storeu_ps(row, lo[r]);
                    _mm256_storeu_ps(row.add(8), hi[r]);
                } else {
                    let mut tmp = [0f32; NR];
                    _mm256_storeu_ps(tmp.as_mut_ptr(), lo[r]);
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(8), hi[r]);
                    std::ptr::copy_nonoverlapping(tmp.as_ptr(), row, width);
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernel {
    use super::Panels;

    /// Never called: [`super::PackedWeights::supported`] is false off x86-64.
    pub unsafe fn columns(_p: &Panels<'_>, _c: *mut f32, _c_rs: isize, _j: (usize, usize)) {
        unreachable!("the packed kernel needs x86-64 with AVX2 and FMA")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Matrix;

    fn reference(x: &Matrix, w: &Matrix, b: &[f32], act: Activation) -> Vec<f64> {
        let (m, k) = x.dim();
        let n = w.ncols();
        let mut out = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                let a: f64 = (0..k)
                    .map(|q| f64::from(x[[i, q]]) * f64::from(w[[q, j]]))
                    .sum::<f64>()
                    + f64::from(b[j]);
                out.push(match act {
                    Activation::Sigmoid => 1.0 / (1.0 + (-a).exp()),
                    Activation::Softplus => a.exp().ln_1p(),
                    _ => a,
                });
            }
        }
        out
    }

    /// Every tail: rows not a multiple of 6, columns not a multiple of 16, depths 1..; against
    /// an f64 double loop, and identical with 1 and 3 threads.
    #[test]
    fn packed_affine_matches_an_f64_reference_for_every_tail() {
        let one = Device::cpu(1).unwrap();
        let three = Device::cpu(3).unwrap();
        let mut seed = 1u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (m, k, n) in [
            (1, 1, 1),
            (7, 3, 17),
            (13, 40, 33),
            (6, 16, 16),
            (100, 31, 100),
        ] {
            let x = Matrix::from_shape_simple_fn((m, k), &mut next);
            let w = Matrix::from_shape_simple_fn((k, n), &mut next);
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let b = ndarray::Array1::from(b);
            for act in [
                Activation::Sigmoid,
                Activation::Softplus,
                Activation::Linear,
            ] {
                let expected = reference(&x, &w, b.as_slice().unwrap(), act);
                let mut outs = Vec::new();
                for dev in [&one, &three] {
                    let mut packed = PackedWeights::default();
                    packed.pack(dev, w.view());
                    let mut y = Matrix::from_elem((m, n), f32::NAN);
                    let mut rows = PackedRows::default();
                    dev.affine_packed(
                        x.view(),
                        PackedLayer {
                            w: w.view(),
                            packed: &packed,
                            b: b.view(),
                            activation: act,
                        },
                        &mut rows,
                        y.view_mut(),
                    );
                    for (got, want) in y.iter().zip(&expected) {
                        assert!(
                            (f64::from(*got) - want).abs() < 1e-5 * (1.0 + want.abs()),
                            "{m}×{k}×{n} {act:?}: {got} vs {want}"
                        );
                    }
                    outs.push(y);
                }
                assert_eq!(outs[0], outs[1], "1 vs 3 threads, {m}×{k}×{n}");
            }
        }
    }

    /// Where the packed kernel cannot run (no AVX2/FMA, so nothing was packed), the layer is
    /// exactly the general one.
    #[test]
    fn without_a_packed_form_the_layer_falls_back_to_the_general_gemm() {
        let dev = Device::cpu(2).unwrap();
        let x = Matrix::from_shape_fn((10, 7), |(i, j)| (i as f32 - j as f32) * 0.05);
        let w = Matrix::from_shape_fn((7, 19), |(i, j)| ((i + 2 * j) % 5) as f32 * 0.1 - 0.2);
        let b = ndarray::Array1::from_elem(19, -0.1f32);
        let unpacked = PackedWeights {
            data: Vec::new(),
            k: 7,
            n: 19,
        };
        let (mut a, mut c) = (Matrix::zeros((10, 19)), Matrix::zeros((10, 19)));
        dev.affine_packed(
            x.view(),
            PackedLayer {
                w: w.view(),
                packed: &unpacked,
                b: b.view(),
                activation: Activation::Softplus,
            },
            &mut PackedRows::default(),
            a.view_mut(),
        );
        dev.affine(
            x.view(),
            w.view(),
            b.view(),
            Activation::Softplus,
            c.view_mut(),
        );
        assert_eq!(a, c);
    }

    /// A transposed (strided) input gives the same result as a contiguous copy of it.
    #[test]
    fn strided_inputs_are_packed_correctly() {
        let dev = Device::cpu(2).unwrap();
        let xt = Matrix::from_shape_fn((9, 14), |(i, j)| (i as f32 - 4.0) * 0.1 + j as f32 * 0.01);
        let w = Matrix::from_shape_fn((9, 20), |(i, j)| ((i * 3 + j) % 7) as f32 * 0.1 - 0.3);
        let b = ndarray::Array1::from_elem(20, 0.1f32);
        let mut packed = PackedWeights::default();
        packed.pack(&dev, w.view());
        let mut a = Matrix::zeros((14, 20));
        let mut c = Matrix::zeros((14, 20));
        let xc = xt.t().to_owned();
        let mut rows = PackedRows::default();
        let layer = PackedLayer {
            w: w.view(),
            packed: &packed,
            b: b.view(),
            activation: Activation::Sigmoid,
        };
        dev.affine_packed(xt.t(), layer, &mut rows, a.view_mut());
        dev.affine_packed(xc.view(), layer, &mut rows, c.view_mut());
        assert_eq!(a, c);
    }
}
