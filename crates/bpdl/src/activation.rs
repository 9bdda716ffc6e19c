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
//! synapse sees (its input and the unit's output), never the pre-activation. This module holds
//! the type; φ and φ' ([`Activation::apply`], [`Activation::slope_from_output`]) are numeric
//! operations and live in the backend (`backend/nonlinearity.rs`), written once with its
//! vectorisable `exp` and `ln(1 + x)`: the backend's slice kernels inline these same functions,
//! so the scalar definition and the kernels give identical values.
//!
//! The paper's experiment uses softplus for h1 and sigmoid for h2 (§8); the decoders' output
//! non-linearities are our choice (gap G4: sigmoid for g1, softplus for g2).

use serde::{Deserialize, Serialize};

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
