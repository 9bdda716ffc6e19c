//! Evaluation: the inference curve of Fig. 4 ([`inference_curve()`]) with the alignment of
//! INFERENCE's update to the exact gradient ([`gradient_alignment`]), the Parzen-window
//! log-likelihood ([`parzen`]) and in-painting (Fig. 5, [`inpainting`]).

pub mod gradient_alignment;
pub mod inference_curve;
pub mod inpainting;
pub mod parzen;

pub use inference_curve::{InferenceCurve, inference_curve};
