//! Labels for supervised and semi-supervised learning ([`crate::config::SupervisedConfig`]):
//! one-hot targets, the balanced labelled subset of a semi-supervised run, and its minibatches.
//!
//! **The labelled subset** of `N` examples holds `N/10` of each class, drawn without replacement
//! from the stream `"labelled-subset"` of the seed: the same seed gives the same subset.
//!
//! **Minibatches** of a semi-supervised epoch: every training example once, label hidden, in a
//! fresh random order cut into chunks of `B − k`, each completed by `k` labelled examples taken
//! in turn from fresh permutations of the labelled subset (stream `"labelled-order/E"` of the
//! seed for epoch E, so that a resumed epoch is drawn again identically without saving any
//! state). The labelled examples are therefore shown `k/(B − k)·50,000/N` times as often as
//! the unlabelled ones — with 100 labels, 20 per minibatch of 100, each label is seen 125 times
//! per epoch — so that their pressure is not drowned.

use ndarray::ArrayViewMut2;

use super::batches::shuffle;
use crate::config::supervised::CLASSES;
use crate::error::{Error, Result};
use crate::rng::{Rng, Seed};

/// `N/10` examples of each class of `labels`, drawn from `rng`, in increasing index order.
/// Fails when a class has fewer than `N/10` examples or `N` is not a positive multiple of 10.
pub fn balanced_subset(labels: &[u8], n: usize, rng: &mut Rng) -> Result<Vec<usize>> {
    if n == 0 || !n.is_multiple_of(CLASSES) {
        return Err(Error::config(
            "supervised.labels",
            format!("{n} is not a positive multiple of {CLASSES}"),
        ));
    }
    let per_class = n / CLASSES;
    let mut chosen = Vec::with_capacity(n);
    for class in 0..CLASSES {
        let mut of_class: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if of_class.len() < per_class {
            return Err(Error::config(
                "supervised.labels",
                format!(
                    "{n} labels need {per_class} examples of class {class}, but the training set \
                     has {}; ask for fewer labels",
                    of_class.len()
                ),
            ));
        }
        shuffle(&mut of_class, rng);
        chosen.extend_from_slice(&of_class[..per_class]);
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// The labelled subset of a semi-supervised run of `seed` (see the module doc).
pub fn labelled_subset(labels: &[u8], n: usize, seed: u64) -> Result<Vec<usize>> {
    balanced_subset(labels, n, &mut Seed(seed).stream("labelled-subset"))
}

/// Writes the one-hot code of each `labels[rows[i]]` into row i of `out` (`[rows.len(), 10]`).
pub fn one_hot_rows(labels: &[u8], rows: &[usize], mut out: ArrayViewMut2<'_, f32>) {
    out.fill(0.0);
    for (i, &r) in rows.iter().enumerate() {
        out[[i, usize::from(labels[r])]] = 1.0;
    }
}

/// Fails naming `what` when the labels do not match the `rows` examples or one is not a class.
pub fn check_labels(what: &str, labels: &[u8], rows: usize) -> Result<()> {
    if labels.len() != rows {
        return Err(Error::Usage(format!(
            "{what}: {} labels for {rows} examples; give one label per example",
            labels.len()
        )));
    }
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= CLASSES)
    {
        return Err(Error::Usage(format!(
            "{what}: label {l} at example {i}; labels must be classes 0–9"
        )));
    }
    Ok(())
}

/// The labelled rows of every minibatch of epoch `epoch` (0-based) of a semi-supervised run:
/// `minibatches × k` indices into the labelled subset's examples, taken in turn from fresh
/// permutations of it (stream `"labelled-order/{epoch}"` of `seed`).
pub fn labelled_order(
    subset: &[usize],
    minibatches: usize,
    k: usize,
    seed: u64,
    epoch: usize,
) -> Vec<usize> {
    let mut rng = Seed(seed).stream(&format!("labelled-order/{epoch}"));
    let need = minibatches * k;
    let mut out = Vec::with_capacity(need);
    let mut perm = subset.to_vec();
    while out.len() < need && !perm.is_empty() {
        shuffle(&mut perm, &mut rng);
        let take = (need - out.len()).min(perm.len());
        out.extend_from_slice(&perm[..take]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u8> {
        // 1,000 examples, class c at indices ≡ c (mod 10) plus extra 3s
        let mut l: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        l.extend(std::iter::repeat_n(3, 200));
        l
    }

    #[test]
    fn the_same_seed_draws_the_same_balanced_subset_and_another_seed_another() {
        let l = labels();
        let a = labelled_subset(&l, 100, 7).unwrap();
        assert_eq!(a, labelled_subset(&l, 100, 7).unwrap());
        assert_ne!(a, labelled_subset(&l, 100, 8).unwrap());
        assert_eq!(a.len(), 100);
        let mut per_class = [0; 10];
        for &i in &a {
            per_class[usize::from(l[i])] += 1;
        }
        assert_eq!(per_class, [10; 10]);
        let mut dedup = a.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 100, "drawn without replacement");
    }

    #[test]
    fn too_many_labels_for_a_class_or_a_count_not_divisible_by_ten_is_an_error() {
        let l = labels();
        assert!(labelled_subset(&l, 15, 1).is_err());
        let err = labelled_subset(&l, 1010, 1).unwrap_err().to_string();
        assert!(
            err.contains("supervised.labels") && err.contains("class"),
            "{err}"
        );
    }

    #[test]
    fn every_labelled_example_is_shown_before_any_is_shown_twice() {
        let subset: Vec<usize> = (0..30).map(|i| i * 3).collect();
        let order = labelled_order(&subset, 7, 10, 1, 0);
        assert_eq!(order.len(), 70);
        let mut first: Vec<usize> = order[..30].to_vec();
        first.sort_unstable();
        assert_eq!(first, subset);
        assert_eq!(order, labelled_order(&subset, 7, 10, 1, 0));
        assert_ne!(order, labelled_order(&subset, 7, 10, 1, 1));
    }

    #[test]
    fn one_hot_rows_and_label_checks() {
        let mut out = ndarray::Array2::<f32>::zeros((2, 10));
        one_hot_rows(&[4, 9, 1], &[2, 0], out.view_mut());
        assert_eq!(out.sum(), 2.0);
        assert_eq!((out[[0, 1]], out[[1, 4]]), (1.0, 1.0));
        assert!(check_labels("t", &[1, 2], 3).is_err());
        assert!(
            check_labels("t", &[1, 12], 2)
                .unwrap_err()
                .to_string()
                .contains("12")
        );
        check_labels("t", &[0, 9], 2).unwrap();
    }
}
