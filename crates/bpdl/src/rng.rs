//! Seeded random streams.
//!
//! Every random draw in bpdl comes from an explicit [`Rng`] passed as an argument; there is no
//! global or clock-seeded generator in the library. A run's one seed is split into named,
//! independent streams ([`Seed::stream`]): weight initialisation, minibatch order, corruption
//! noise and sampling each get their own, so adding a draw to one part never shifts the numbers
//! of another.
//!
//! Parallel fills (noise for a whole minibatch) draw one key from the caller's stream and give
//! every row its own generator derived from `(key, row)` ([`row_rng`]). The numbers therefore do
//! not depend on how many threads run or how the work is scheduled among them.

use rand::{Rng as _, SeedableRng};

/// The generator used everywhere: xoshiro256++ (fast, 256-bit state, good statistical quality).
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// A run's master seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub u64);

impl Seed {
    /// The independent stream called `name` (e.g. `"init"`, `"data"`, `"corruption"`).
    ///
    /// ```
    /// use rand::RngExt;
    /// let seed = bpdl::rng::Seed(7);
    /// let a: u64 = seed.stream("data").random();
    /// let b: u64 = seed.stream("data").random();
    /// let c: u64 = seed.stream("init").random();
    /// assert_eq!(a, b);
    /// assert_ne!(a, c);
    /// ```
    pub fn stream(&self, name: &str) -> Rng {
        Rng::seed_from_u64(splitmix64(self.0 ^ fnv1a(name.as_bytes())))
    }
}

/// The generator for row `row` of a parallel fill keyed by `key` (drawn once from a stream).
pub fn row_rng(key: u64, row: usize) -> Rng {
    Rng::seed_from_u64(splitmix64(
        key ^ splitmix64(row as u64 ^ 0xA076_1D64_78BD_642F),
    ))
}

/// Draws the key of one parallel fill from `rng` (see [`row_rng`]).
pub fn fill_key(rng: &mut Rng) -> u64 {
    rng.next_u64()
}

/// SplitMix64 finaliser: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a stream name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn row_generators_differ_between_rows_and_keys() {
        let a: u64 = row_rng(1, 0).random();
        let b: u64 = row_rng(1, 1).random();
        let c: u64 = row_rng(2, 0).random();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, row_rng(1, 0).random::<u64>());
    }

    #[test]
    fn streams_depend_on_the_seed() {
        let a: u64 = Seed(1).stream("x").random();
        let b: u64 = Seed(2).stream("x").random();
        assert_ne!(a, b);
    }
}
