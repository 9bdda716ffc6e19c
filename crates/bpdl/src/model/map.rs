//! One feed-forward or feedback map of the model: an affine layer and a non-linearity,
//! `y = φ(x·W + b)` (gap G14: "one affine layer + non-linearity each, untied weights").
//!
//! # Shapes
//! `W: [n_in, n_out]`, `b: [n_out]`, `x: [batch, n_in]`, `y: [batch, n_out]`.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::activation::Activation;
use crate::backend::{Device, Matrix, PackedLayer, PackedRows, PackedWeights};
use crate::config::InitScheme;
use crate::rng::Rng;

/// `y = φ(x·W + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// `W: [n_in, n_out]`.
    pub weight: Matrix,
    /// `b: [n_out]`.
    pub bias: Array1<f32>,
    /// φ.
    pub activation: Activation,
}

impl Map {
    /// A map `n_in → n_out` initialised with `scheme` (zero bias).
    pub fn new(
        n_in: usize,
        n_out: usize,
        activation: Activation,
        scheme: InitScheme,
        rng: &mut Rng,
    ) -> Self {
        let weight = match scheme {
            InitScheme::GlorotUniform => glorot_uniform(n_in, n_out, rng),
            InitScheme::Orthogonal => orthogonal(n_in, n_out, rng),
        };
        Self {
            weight,
            bias: Array1::zeros(n_out),
            activation,
        }
    }

    /// Input width.
    pub fn n_in(&self) -> usize {
        self.weight.nrows()
    }

    /// Output width.
    pub fn n_out(&self) -> usize {
        self.weight.ncols()
    }

    /// `y = φ(x·W + b)` into a preallocated `y`.
    pub fn forward(&self, dev: &Device, x: ArrayView2<'_, f32>, y: ArrayViewMut2<'_, f32>) {
        dev.affine(x, self.weight.view(), self.bias.view(), self.activation, y);
    }

    /// `y = φ(x·W + b)` with `W` already packed ([`PackedWeights::pack`] of this map's weights):
    /// the product INFERENCE repeats in every iteration; `rows` is the caller's buffer for X
    /// packed into row panels.
    pub fn forward_packed(
        &self,
        dev: &Device,
        packed: &PackedWeights,
        rows: &mut PackedRows,
        x: ArrayView2<'_, f32>,
        y: ArrayViewMut2<'_, f32>,
    ) {
        dev.affine_packed(
            x,
            PackedLayer {
                w: self.weight.view(),
                packed,
                b: self.bias.view(),
                activation: self.activation,
            },
            rows,
            y,
        );
    }

    /// `y = φ(x·W + b)`, allocating `y` (for tests and one-off evaluations).
    pub fn apply(&self, dev: &Device, x: ArrayView2<'_, f32>) -> Matrix {
        let mut y = Matrix::zeros((x.nrows(), self.n_out()));
        self.forward(dev, x, y.view_mut());
        y
    }
}

/// U(±√(6/(n_in + n_out))) (Glorot & Bengio 2010).
pub fn glorot_uniform(n_in: usize, n_out: usize, rng: &mut Rng) -> Matrix {
    let limit = (6.0 / (n_in + n_out) as f64).sqrt() as f32;
    Array2::from_shape_simple_fn((n_in, n_out), || rng.random_range(-limit..limit))
}

/// A random matrix with orthonormal rows or columns (whichever are fewer), scaled so that its
/// entries have the Glorot variance 2/(n_in + n_out) on average (DTP's `rand_ortho`, gap G3).
pub fn orthogonal(n_in: usize, n_out: usize, rng: &mut Rng) -> Matrix {
    // Gram–Schmidt (twice, for stability) in f64 on the k = min(n_in, n_out) long vectors.
    let (k, len) = (n_in.min(n_out), n_in.max(n_out));
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(k);
    while q.len() < k {
        let mut v: Vec<f64> = (0..len).map(|_| rng.sample(StandardNormal)).collect();
        for _ in 0..2 {
            for u in &q {
                let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, u)| *x -= dot * u);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-8 {
            v.iter_mut().for_each(|x| *x /= norm);
            q.push(v);
        }
    }
    // ‖Q‖_F² = k; the Glorot variance 2/(n_in+n_out) over n_in·n_out entries needs
    // ‖W‖_F² = 2·n_in·n_out/(n_in+n_out).
    let gain = (2.0 * (n_in * n_out) as f64 / ((n_in + n_out) * k) as f64).sqrt();
    Array2::from_shape_fn((n_in, n_out), |(i, j)| {
        let (r, c) = if n_in <= n_out { (i, j) } else { (j, i) };
        (gain * q[r][c]) as f32
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    #[test]
    fn glorot_weights_lie_in_the_glorot_interval() {
        let w = glorot_uniform(784, 1000, &mut Seed(1).stream("t"));
        let limit = (6.0f64 / 1784.0).sqrt() as f32;
        assert!(w.iter().all(|&v| v.abs() <= limit));
        let var = w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / w.len() as f64;
        // U(±l) has variance l²/3 = 2/(n_in+n_out)
        assert!((var - 2.0 / 1784.0).abs() / (2.0 / 1784.0) < 0.01, "{var}");
    }

    #[test]
    fn orthogonal_weights_have_orthogonal_short_side() {
        for (n_in, n_out) in [(5, 9), (9, 5), (6, 6)] {
            let w = orthogonal(n_in, n_out, &mut Seed(2).stream("t"));
            // the Gram matrix of the short side, by its definition
            let (short, long) = (n_in.min(n_out), n_in.max(n_out));
            let at = |s: usize, t: usize| if n_in <= n_out { w[[s, t]] } else { w[[t, s]] };
            let g = ndarray::Array2::from_shape_fn((short, short), |(i, j)| {
                (0..long).map(|t| at(i, t) * at(j, t)).sum::<f32>()
            });
            let d = g[[0, 0]];
            for ((i, j), &v) in g.indexed_iter() {
                let expected = if i == j { d } else { 0.0 };
                assert!((v - expected).abs() < 1e-5, "({i},{j}) = {v}");
            }
        }
    }
}
