//! φ and φ' of every [`Activation`] (the table of [`crate::activation`]), written once with the
//! vectorisable `exp`, `e^x − 1` and `ln(1 + x)` of [`super::fastmath`]. The slice kernels of
//! [`super::elementwise`] and the packed layer inline these same functions, so the scalar
//! definition and every kernel give identical values.

use super::fastmath::{exp, exp_m1, ln_1p};
use crate::activation::Activation;

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
