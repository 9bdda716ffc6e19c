//! Neuron non-linearities `y = φ(a)` and their slopes written as functions of the output `y`.
//!
//! | name | φ(a) | φ'(a) as a function of y = φ(a) |
//! |---|---|---|
//! | sigmoid | 1 / (1 + e^(−a)) | y (1 − y) |
//! | softplus | ln(1 + e^a) | 1 − e^(−y) (= sigmoid(a)) |
//! | tanh | tanh a | 1 − y² |
//! | relu | max(a, 0) | 1 if y > 0 else 0 |
//! | linear | a | 1 |
//!
//! Writing the slope in terms of the output means a local learning rule needs only what the
//! synapse sees (its input and the unit's output), never the pre-activation. φ and φ' are
//! written here once, with the vectorisable `exp` and `ln(1 + x)` of
//! [`crate::backend::fastmath`]; the backend's slice kernels inline these same functions, so the
//! scalar definition and the kernels give identical values.
//!
//! The paper's experiment uses softplus for h1 and sigmoid for h2 (§8); the decoders' output
//! non-linearities are our choice (gap G4: sigmoid for g1, softplus for g2).

use serde::{Deserialize, Serialize};

// φ and φ' are defined with the backend's vectorisable exp/ln so that kernels and scalar agree.
use crate::backend::fastmath::{exp, exp_m1, ln_1p};

/// A unit's non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// 1 / (1 + e^(−a)), range (0, 1).
    Sigmoid,
    /// ln(1 + e^a), range (0, ∞).
    Softplus,
    /// tanh a, range (−1, 1).
    Tanh,
    /// max(a, 0).
    Relu,
    /// The identity.
    Linear,
}

impl Activation {
    /// φ(a).
    ///
    /// ```
    /// use bpdl::Activation;
    /// assert_eq!(Activation::Sigmoid.apply(0.0), 0.5);
    /// assert!((Activation::Softplus.apply(0.0) - std::f32::consts::LN_2).abs() < 1e-6);
    /// ```
    #[inline(always)]
    pub fn apply(self, a: f32) -> f32 {
        match self {
            // 1 / (1 + e^(−a)), from e^(−|a|) so that it never overflows
            Self::Sigmoid => {
                let t = exp(-a.abs());
                let r = 1.0 / (1.0 + t);
                if a >= 0.0 { r } else { t * r }
            }
            // ln(1 + e^a) = max(a, 0) + ln(1 + e^(−|a|))
            Self::Softplus => a.max(0.0) + ln_1p(exp(-a.abs())),
            // sign(a)·(1 − e^(−2|a|)) / (1 + e^(−2|a|)), with e^x − 1 to stay accurate near 0
            Self::Tanh => {
                let m = exp_m1(-2.0 * a.abs());
                let r = -m / (2.0 + m);
                if a >= 0.0 { r } else { -r }
            }
            Self::Relu => a.max(0.0),
            Self::Linear => a,
        }
    }

    /// φ'(a) written as a function of the output `y = φ(a)`.
    #[inline(always)]
    pub fn slope_from_output(self, y: f32) -> f32 {
        match self {
            Self::Sigmoid => y * (1.0 - y),
            Self::Softplus => -exp_m1(-y),
            Self::Tanh => 1.0 - y * y,
            Self::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Linear => 1.0,
        }
    }

    /// The name used in configs (`"sigmoid"`, `"softplus"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Softplus => "softplus",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Linear => "linear",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 5] = [
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Tanh,
        Activation::Relu,
        Activation::Linear,
    ];

    /// If the slope formula were wrong every local gradient would be wrong, silently: the
    /// learning would still move, just not downhill. Compare with a central difference in f64.
    #[test]
    fn slope_from_output_equals_the_derivative_by_central_difference() {
        for act in ALL {
            for &a in &[-6.0f64, -2.0, -0.3, 0.2, 1.0, 3.5, 8.0] {
                let h = 1e-3;
                let f = |x: f64| f64::from(act.apply(x as f32));
                // f32 evaluation: difference quotient with a generous tolerance.
                let numeric = (f(a + h) - f(a - h)) / (2.0 * h);
                let analytic = f64::from(act.slope_from_output(act.apply(a as f32)));
                assert!(
                    (numeric - analytic).abs() < 2e-3,
                    "{act:?} at {a}: numeric {numeric}, analytic {analytic}"
                );
            }
        }
    }

    fn ulps(a: f32, b: f64) -> f64 {
        let b32 = b as f32;
        let ulp = f64::from(f32::from_bits(b32.abs().to_bits() + 1) - b32.abs());
        (f64::from(a) - b).abs() / ulp.max(f64::from(f32::MIN_POSITIVE))
    }

    /// Over the range where the model evaluates them, φ stays within a few ulp of the correctly
    /// rounded f64 values.
    #[test]
    fn nonlinearities_are_within_a_few_ulp_of_f64() {
        let mut a = -30.0f32;
        while a < 30.0 {
            let a64 = f64::from(a);
            let sigmoid = Activation::Sigmoid.apply(a);
            assert!(
                ulps(sigmoid, 1.0 / (1.0 + (-a64).exp())) < 4.0,
                "sigmoid({a})"
            );
            let softplus = Activation::Softplus.apply(a);
            assert!(ulps(softplus, a64.exp().ln_1p()) < 4.0, "softplus({a})");
            assert!(
                ulps(Activation::Tanh.apply(a), a64.tanh()) < 4.0,
                "tanh({a})"
            );
            a += 0.00731;
        }
    }

    #[test]
    fn activations_are_finite_for_extreme_inputs() {
        for act in ALL {
            for a in [-1e4f32, -100.0, 100.0, 1e4] {
                assert!(act.apply(a).is_finite(), "{act:?}({a})");
            }
        }
        assert_eq!(Activation::Softplus.apply(1e4), 1e4);
        assert!(Activation::Sigmoid.apply(-1e4) < 1e-37);
        assert_eq!(Activation::Sigmoid.apply(1e4), 1.0);
        let tiny = Activation::Softplus.apply(-1e4);
        assert!((0.0..1e-37).contains(&tiny));
    }
}
