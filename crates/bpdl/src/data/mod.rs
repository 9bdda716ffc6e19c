//! Datasets: the IDX container ([`idx`]), MNIST and Fashion-MNIST with the standard split
//! ([`mnist`]) and seeded minibatches ([`batches`]).

pub mod batches;
pub mod check;
pub mod idx;
pub mod labelled;
pub mod mnist;

pub use mnist::{Dataset, Mnist, Split, SplitName};
