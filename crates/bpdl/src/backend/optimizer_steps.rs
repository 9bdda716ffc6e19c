//! The elementwise updates of the adaptive optimizers (`learning::optimizer`), as `Device`
//! operations:
//!
//! ```text
//! RMSprop:  v ← ρ·v + (1 − ρ)·g²;                 w ← w − ε·g / (√v + ϵ)
//! Adam:     m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
//!           w ← w − ε·m̂ / (√v̂ + ϵ),  m̂ = m/c₁, v̂ = v/c₂   (c = 1 − βᵗ)
//! ```
//!
//! Every entry is updated independently with the same f32 arithmetic, so the result does not
//! depend on the thread count.

use rayon::prelude::*;

use super::Device;

/// The constants of one adaptive step (the bias corrections already evaluated for its step t).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveStep {
    /// ε, the learning rate.
    pub lr: f32,
    /// ρ of RMSprop.
    pub rho: f32,
    /// β₁ of Adam.
    pub beta1: f32,
    /// β₂ of Adam.
    pub beta2: f32,
    /// ϵ in the denominator.
    pub eps: f32,
    /// `1 − β₁ᵗ`.
    pub correction1: f32,
    /// `1 − β₂ᵗ`.
    pub correction2: f32,
}

/// Entries per parallel work item.
const CHUNK: usize = 4096;

impl Device {
    /// One RMSprop step of `w` with gradient `g` and second moments `v` (all the same length).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn rmsprop_step(&self, w: &mut [f32], g: &[f32], v: &mut [f32], k: &AdaptiveStep) {
        assert!(
            w.len() == g.len() && w.len() == v.len(),
            "RMSprop operand lengths"
        );
        self.install(|| {
            w.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|((w, g), v)| {
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
                        *v = k.rho * *v + (1.0 - k.rho) * g * g;
                        *w -= k.lr * g / (v.sqrt() + k.eps);
                    }
                });
        });
    }

    /// One Adam step of `w` with gradient `g` and moments `m`, `v` (all the same length).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn adam_step(
        &self,
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        k: &AdaptiveStep,
    ) {
        assert!(
            w.len() == g.len() && w.len() == m.len() && w.len() == v.len(),
            "Adam operand lengths"
        );
        self.install(|| {
            w.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((w, g), m), v)| {
                    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                        *m = k.beta1 * *m + (1.0 - k.beta1) * g;
                        *v = k.beta2 * *v + (1.0 - k.beta2) * g * g;
                        let m_hat = *m / k.correction1;
                        let v_hat = *v / k.correction2;
                        *w -= k.lr * m_hat / (v_hat.sqrt() + k.eps);
                    }
                });
        });
    }
}
