//! Evaluation: the inference curve of Fig. 4 ([`inference_curve()`]) with the alignment of
//! INFERENCE's update to the exact gradient ([`gradient_alignment`]), the Parzen-window
//! log-likelihood ([`parzen`]), in-painting (Fig. 5, [`inpainting`]), and sample-quality
//! measures beyond Parzen ([`quality`]: FID, Inception score, precision and recall) in the
//! features of a separately trained evaluation classifier ([`classifier`]); and the test error
//! of a model whose top layer is the label ([`classify`], supervised learning); and a linear
//! readout of the inferred top codes ([`readout`], issue 14's representation target).

pub mod classifier;
pub mod classify;
pub mod gradient_alignment;
pub mod inference_curve;
pub mod inpainting;
pub mod parzen;
pub mod quality;
pub mod readout;

pub use inference_curve::{InferenceCurve, inference_curve};
