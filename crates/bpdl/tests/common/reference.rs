//! f64 references written from the definitions, shared by the tests that hold the library's
//! f32 kernels against them: φ, and a map `φ(x·W + b)` evaluated with plain arithmetic.

use bpdl::Activation;
use bpdl::model::Map;
use ndarray::Array2;

/// φ(a) in f64, from the textbook formulas.
pub fn phi64(act: Activation, a: f64) -> f64 {
    match act {
        Activation::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        Activation::Softplus => (1.0 + a.exp()).ln(),
        Activation::Tanh => a.tanh(),
        Activation::Relu => a.max(0.0),
        Activation::Linear => a,
    }
}

/// `φ(x·W + b)` of `map` in f64, with explicit loops (no BLAS, no caching).
pub fn apply64(map: &Map, x: &Array2<f64>) -> Array2<f64> {
    let (n, k) = x.dim();
    let m = map.weight.ncols();
    Array2::from_shape_fn((n, m), |(i, j)| {
        let a: f64 = (0..k)
            .map(|q| x[[i, q]] * f64::from(map.weight[[q, j]]))
            .sum::<f64>()
            + f64::from(map.bias[j]);
        phi64(map.activation, a)
    })
}

/// Inverse of a square matrix by Gauss–Jordan elimination with partial pivoting, in f64.
pub fn inverse(m: &Array2<f64>) -> Array2<f64> {
    let n = m.nrows();
    let mut a = m.clone();
    let mut inv = Array2::<f64>::eye(n);
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[[i, c]].abs().total_cmp(&a[[j, c]].abs()))
            .unwrap();
        for k in 0..n {
            a.swap([c, k], [p, k]);
            inv.swap([c, k], [p, k]);
        }
        let d = a[[c, c]];
        for k in 0..n {
            a[[c, k]] /= d;
            inv[[c, k]] /= d;
        }
        for r in 0..n {
            if r != c {
                let f = a[[r, c]];
                for k in 0..n {
                    a[[r, k]] -= f * a[[c, k]];
                    inv[[r, k]] -= f * inv[[c, k]];
                }
            }
        }
    }
    inv
}
