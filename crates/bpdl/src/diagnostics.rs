//! Health diagnostics of the inferred codes (spec §5.2): the failure modes of Algorithm 2 show up
//! here first — a sigmoid layer that saturates to one code for every example (spread → 0,
//! saturation → 1) or a softplus layer that runs away (mean |h| growing without bound).
//!
//! * `mean_abs`: mean of |h| over units and examples;
//! * `spread`: mean over units of the standard deviation across the examples of a minibatch;
//! * `saturation`: for sigmoid units, the fraction of values below 0.01 or above 0.99.

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;

/// Diagnostics of one layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Mean |h|.
    pub mean_abs: f64,
    /// Mean over units of the standard deviation across examples.
    pub spread: f64,
    /// Fraction of saturated sigmoid units (absent for other non-linearities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturation: Option<f64>,
}

impl LayerStats {
    /// The diagnostics of a minibatch of codes `h: [batch, units]` of a layer with `act` units.
    pub fn of(h: ArrayView2<'_, f32>, act: Activation) -> Self {
        let n = h.len().max(1) as f64;
        let batch = h.nrows().max(1) as f64;
        let mean_abs = h.iter().map(|v| f64::from(v.abs())).sum::<f64>() / n;
        let mut spread = 0.0;
        for col in h.axis_iter(Axis(1)) {
            let m = col.iter().map(|&v| f64::from(v)).sum::<f64>() / batch;
            let var = col.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / batch;
            spread += var.sqrt();
        }
        spread /= h.ncols().max(1) as f64;
        let saturation = (act == Activation::Sigmoid)
            .then(|| h.iter().filter(|&&v| !(0.01..=0.99).contains(&v)).count() as f64 / n);
        Self {
            mean_abs,
            spread,
            saturation,
        }
    }

    /// Adds `w · other` to `self` (for running averages).
    pub fn add_scaled(&mut self, other: &Self, w: f64) {
        self.mean_abs += w * other.mean_abs;
        self.spread += w * other.spread;
        if let Some(s) = other.saturation {
            *self.saturation.get_or_insert(0.0) += w * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stats_of_a_small_batch_match_hand_values() {
        // columns: [0, 1] (sd 0.5) and [0.5, 0.5] (sd 0)
        let h = array![[0.0f32, 0.5], [1.0, 0.5]];
        let s = LayerStats::of(h.view(), Activation::Sigmoid);
        assert!((s.mean_abs - 0.5).abs() < 1e-12);
        assert!((s.spread - 0.25).abs() < 1e-12);
        assert_eq!(s.saturation, Some(0.5));
        let s = LayerStats::of(h.view(), Activation::Softplus);
        assert_eq!(s.saturation, None);
    }
}
