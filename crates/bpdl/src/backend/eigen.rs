//! The symmetric eigendecomposition `A = V·diag(λ)·Vᵀ` (f64, cyclic Jacobi) and the matrix square
//! root trace of the Fréchet distance, `tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}`.
//!
//! Cyclic Jacobi (Golub & Van Loan, *Matrix Computations*, §8.5) sweeps over every off-diagonal
//! pair `(p, q)` and applies the plane rotation that zeroes `a_pq`; the off-diagonal mass falls
//! quadratically once it is small, and the accumulated rotations are the eigenvectors, orthogonal
//! to working precision. It costs O(n³) per sweep and converges in well under twenty sweeps, so
//! it suits the ≤ 256 × 256 covariances of the quality measures (a 128 × 128 matrix takes a few
//! milliseconds) without a linear-algebra dependency. It runs on the calling thread, in one fixed
//! order.

use ndarray::{Array1, Array2, ArrayView2};

use super::Device;
use crate::error::{Error, Result};

/// Sweeps after which Jacobi gives up (it needs well under twenty for any symmetric matrix).
pub const MAX_SWEEPS: usize = 100;

/// The eigenpairs of a symmetric matrix: `A = V·diag(λ)·Vᵀ`, eigenvalues ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEigen {
    /// λ, ascending.
    pub values: Array1<f64>,
    /// V: column `i` is the unit eigenvector of `values[i]`.
    pub vectors: Array2<f64>,
}

impl Device {
    /// The eigendecomposition of the symmetric matrix `a` (only its upper triangle is read; the
    /// lower one is taken as its mirror).
    ///
    /// Fails on a non-square matrix, a non-finite entry, or (never seen) no convergence within
    /// [`MAX_SWEEPS`] sweeps.
    ///
    /// ```
    /// use ndarray::array;
    /// let dev = bpdl::Device::cpu(1).unwrap();
    /// let e = dev.symmetric_eigen(array![[2.0, 1.0], [1.0, 2.0]].view()).unwrap();
    /// assert!((e.values[0] - 1.0).abs() < 1e-12 && (e.values[1] - 3.0).abs() < 1e-12);
    /// ```
    pub fn symmetric_eigen(&self, a: ArrayView2<'_, f64>) -> Result<SymmetricEigen> {
        let n = a.nrows();
        if a.ncols() != n {
            return Err(Error::Shape {
                op: "symmetric eigendecomposition",
                expected: "a square matrix".into(),
                got: format!("{:?}", a.dim()),
            });
        }
        if a.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                layer: "the matrix to diagonalise (a covariance of the quality measures)".into(),
                step: "the symmetric eigendecomposition".into(),
            });
        }
        let mut m =
            Array2::from_shape_fn((n, n), |(i, j)| if i <= j { a[[i, j]] } else { a[[j, i]] });
        let mut v = Array2::<f64>::eye(n);
        let norm2: f64 = m.iter().map(|x| x * x).sum();
        let tol2 = (f64::EPSILON * (n.max(1) as f64)).powi(2) * norm2;
        let mut converged = false;
        for _ in 0..MAX_SWEEPS {
            let off2: f64 = (0..n)
                .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
                .map(|(p, q)| 2.0 * m[[p, q]] * m[[p, q]])
                .sum();
            if off2 <= tol2 {
                converged = true;
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    rotate(&mut m, &mut v, p, q);
                }
            }
        }
        if !converged {
            return Err(Error::Usage(format!(
                "the {n}×{n} symmetric eigendecomposition did not converge in {MAX_SWEEPS} \
                 Jacobi sweeps; report this as a bug"
            )));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| m[[i, i]].total_cmp(&m[[j, j]]));
        Ok(SymmetricEigen {
            values: order.iter().map(|&i| m[[i, i]]).collect(),
            vectors: Array2::from_shape_fn((n, n), |(r, c)| v[[r, order[c]]]),
        })
    }

    /// `tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}` for symmetric positive semi-definite `Σ₁`, `Σ₂`
    /// (eigenvalues below 0 from rounding are clamped to 0 before each square root). This equals
    /// `tr (Σ₁Σ₂)^{1/2}`, the cross term of the Fréchet distance between two Gaussians.
    ///
    /// # Shapes
    /// `sigma1, sigma2: [d, d]`.
    pub fn trace_sqrt_product(
        &self,
        sigma1: ArrayView2<'_, f64>,
        sigma2: ArrayView2<'_, f64>,
    ) -> Result<f64> {
        if sigma1.dim() != sigma2.dim() {
            return Err(Error::Shape {
                op: "Fréchet distance",
                expected: format!("two covariances of shape {:?}", sigma1.dim()),
                got: format!("{:?}", sigma2.dim()),
            });
        }
        let e1 = self.symmetric_eigen(sigma1)?;
        let root = scaled_gram(&e1.vectors, &e1.values.mapv(|l| l.max(0.0).sqrt()));
        let inner = product(&product(&root, &sigma2.to_owned()), &root);
        let inner =
            Array2::from_shape_fn(inner.dim(), |(i, j)| 0.5 * (inner[[i, j]] + inner[[j, i]]));
        let e = self.symmetric_eigen(inner.view())?;
        Ok(e.values.iter().map(|l| l.max(0.0).sqrt()).sum())
    }
}

/// One Jacobi rotation of `m` in the plane `(p, q)` that zeroes `m[p, q]`, accumulated into `v`.
fn rotate(m: &mut Array2<f64>, v: &mut Array2<f64>, p: usize, q: usize) {
    let apq = m[[p, q]];
    if apq == 0.0 {
        return;
    }
    let n = m.nrows();
    let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * apq);
    // t = tan of the rotation angle, the smaller root of t² + 2θt − 1 = 0
    let t = if theta.abs() > 1e150 {
        0.5 / theta
    } else {
        theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
    };
    let c = 1.0 / (t * t + 1.0).sqrt();
    let s = t * c;
    for k in 0..n {
        let (akp, akq) = (m[[k, p]], m[[k, q]]);
        m[[k, p]] = c * akp - s * akq;
        m[[k, q]] = s * akp + c * akq;
    }
    for k in 0..n {
        let (apk, aqk) = (m[[p, k]], m[[q, k]]);
        m[[p, k]] = c * apk - s * aqk;
        m[[q, k]] = s * apk + c * aqk;
    }
    m[[p, q]] = 0.0;
    m[[q, p]] = 0.0;
    for k in 0..n {
        let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
        v[[k, p]] = c * vkp - s * vkq;
        v[[k, q]] = s * vkp + c * vkq;
    }
}

/// `V·diag(s)·Vᵀ`.
fn scaled_gram(v: &Array2<f64>, s: &Array1<f64>) -> Array2<f64> {
    let n = v.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        (0..n).map(|k| v[[i, k]] * s[k] * v[[j, k]]).sum()
    })
}

/// `A·B` with plain loops in a fixed order (the matrices here are at most a few hundred wide).
fn product(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (n, k, m) = (a.nrows(), a.ncols(), b.ncols());
    let mut c = Array2::<f64>::zeros((n, m));
    for i in 0..n {
        for l in 0..k {
            let x = a[[i, l]];
            for j in 0..m {
                c[[i, j]] += x * b[[l, j]];
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// A random orthogonal Q (Gram–Schmidt on a seeded random matrix) and chosen eigenvalues
    /// give `A = Q·diag(λ)·Qᵀ`; the solver must return λ (sorted) and columns ±Q.
    #[test]
    fn jacobi_recovers_known_eigenpairs() {
        let n = 40;
        let mut rng = crate::rng::Seed(3).stream("eigen-test");
        let mut q = Array2::from_shape_simple_fn((n, n), || rng.random_range(-1.0f64..1.0));
        for j in 0..n {
            for k in 0..j {
                let d: f64 = (0..n).map(|i| q[[i, j]] * q[[i, k]]).sum();
                for i in 0..n {
                    q[[i, j]] -= d * q[[i, k]];
                }
            }
            let norm = (0..n).map(|i| q[[i, j]].powi(2)).sum::<f64>().sqrt();
            for i in 0..n {
                q[[i, j]] /= norm;
            }
        }
        // distinct eigenvalues, including a zero and negatives, given in descending order
        let lambda: Array1<f64> = (0..n).map(|i| 10.0 - 0.5 * i as f64).collect();
        let a = scaled_gram(&q, &lambda);
        let dev = Device::cpu(1).unwrap();
        let e = dev.symmetric_eigen(a.view()).unwrap();
        for i in 0..n {
            let expected = lambda[n - 1 - i];
            assert!(
                (e.values[i] - expected).abs() < 1e-11,
                "λ{i} = {} vs {expected}",
                e.values[i]
            );
            let dot: f64 = (0..n).map(|r| e.vectors[[r, i]] * q[[r, n - 1 - i]]).sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-10,
                "eigenvector {i}: |⟨v, q⟩| = {}",
                dot.abs()
            );
        }
    }

    #[test]
    fn a_non_square_matrix_is_an_error() {
        let dev = Device::cpu(1).unwrap();
        assert!(
            dev.symmetric_eigen(Array2::<f64>::zeros((2, 3)).view())
                .is_err()
        );
    }
}
