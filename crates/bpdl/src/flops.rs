//! Floating-point operation counts of the model's work, which turn times into GFLOP/s.
//!
//! FLOP are counted as 2·m·n·k per GEMM `[m, k]·[k, n]` (one multiply-add = 2 FLOP); the
//! elementwise work (non-linearities, noise, updates) is not counted, so the ratio of a step's
//! GFLOP/s to the GEMM's measures how much the rest costs.

use crate::model::GenerativeModel;

/// FLOP of one GEMM `[m, k]·[k, n]`.
pub fn gemm_flops(m: usize, k: usize, n: usize) -> f64 {
    2.0 * m as f64 * k as f64 * n as f64
}

/// FLOP of INFERENCE on a minibatch: the feed-forward start (every f_l and g_l once) plus
/// `steps` iterations (per layer: g_l, f_l∘g_l, and f_l of the layer below above the first).
pub fn inference_flops(model: &GenerativeModel, batch: usize, steps: usize) -> f64 {
    let s = &model.sizes;
    let per_map = |l: usize| gemm_flops(batch, s[l - 1], s[l]);
    let depth = model.depth();
    let start: f64 = (1..=depth).map(|l| 2.0 * per_map(l)).sum();
    let iteration: f64 = (1..=depth)
        .map(|l| per_map(l) * if l >= 2 { 3.0 } else { 2.0 })
        .sum();
    start + steps as f64 * iteration
}

/// FLOP of the M-step on a minibatch: per map, the forward pass and the weight gradient.
pub fn m_step_flops(model: &GenerativeModel, batch: usize) -> f64 {
    let s = &model.sizes;
    (1..=model.depth())
        .map(|l| 2.0 * 2.0 * gemm_flops(batch, s[l - 1], s[l]))
        .sum()
}

#[cfg(test)]
mod tests {
    use crate::backend::Device;
    use crate::backend::shapes::{self, GemmShape};
    use crate::testing::Workload;

    /// The estimate: ≈ 0.39 GFLOP per iteration and ≈ 6.6 GFLOP per training minibatch.
    #[test]
    fn paper_minibatch_flop_counts_match_a_hand_count() {
        let w = Workload::paper(100);
        // per iteration: g1, f1∘g1 (2 × 2·100·784·1000) + g2, f2∘g2, f2(h1) (3 × 2·100·1000·100)
        let iteration = 2.0 * 156.8e6 + 3.0 * 20e6;
        let start = 2.0 * 156.8e6 + 2.0 * 20e6;
        assert!((w.inference_flops() - (start + 15.0 * iteration)).abs() < 1.0);
        let m_step = 4.0 * 156.8e6 + 4.0 * 20e6;
        assert!((w.train_flops() - w.inference_flops() - m_step).abs() < 1.0);
        assert!((w.train_flops() / 1e9 - 6.65).abs() < 0.05);
    }

    /// The GEMMs the code actually calls add up to the hand count: no work is repeated (f1(x)
    /// once, g(h) reused) and none is missing.
    #[test]
    fn recorded_gemm_calls_add_up_to_the_hand_count() {
        let dev = Device::cpu(1).unwrap();
        let w = Workload::paper(10);
        let mut s = w.state();
        let ((), calls) = shapes::recorded(&dev, || s.train_step(&dev));
        let flops: f64 = calls.iter().map(GemmShape::flops).sum();
        assert!(
            (flops - w.train_flops()).abs() < 1.0,
            "{flops} vs {}",
            w.train_flops()
        );
    }
}
