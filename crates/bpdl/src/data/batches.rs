//! Seeded minibatches: a fresh random order of the training examples each epoch (gap G8),
//! cut into minibatches of `batch_size`; an incomplete last minibatch is dropped (the paper's
//! 50,000 examples make exactly 500 minibatches of 100).

use ndarray::{ArrayView2, ArrayViewMut2};
use rand::RngExt;

use crate::rng::Rng;

/// A uniformly random permutation of `0..n` (Fisher–Yates with `rng`).
pub fn epoch_order(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    order
}

/// Shuffles `order` in place (Fisher–Yates with `rng`). Written out rather than `rand`'s
/// `SliceRandom::shuffle` so that the minibatch order of a seed, and with it every trained
/// weight, stays the same whatever `rand` version a future build links.
pub fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
}

/// The row ranges `0..b, b..2b, …` covering `0..n` (the last one may be shorter): the minibatches
/// of an evaluation pass in order.
pub fn batches(n: usize, batch: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let batch = batch.max(1);
    (0..n)
        .step_by(batch)
        .map(move |start| start..(start + batch).min(n))
}

/// Copies rows `rows` of `src` into the rows of `dst`, in order.
///
/// # Shapes
/// `src: [n, d]`, `dst: [rows.len(), d]`.
pub fn gather_rows(src: ArrayView2<'_, f32>, rows: &[usize], mut dst: ArrayViewMut2<'_, f32>) {
    assert_eq!(dst.nrows(), rows.len(), "gather_rows: destination rows");
    for (mut d, &r) in dst.rows_mut().into_iter().zip(rows) {
        d.assign(&src.row(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;

    #[test]
    fn an_epoch_order_is_a_permutation() {
        let mut order = epoch_order(1000, &mut Seed(1).stream("data"));
        assert_ne!(order, (0..1000).collect::<Vec<_>>());
        order.sort_unstable();
        assert_eq!(order, (0..1000).collect::<Vec<_>>());
    }
}
