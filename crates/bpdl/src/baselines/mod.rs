//! Baselines that price the paper's constraints; **the learner never uses them.**
//!
//! bpdl's learner trains with local delta rules only ([`crate::learning`]): no signal travels
//! across layers. A baseline trains the same network the way the paper rules out, so that the
//! gap between the two measures what biological plausibility costs.
//!
//! - [`backprop`]: the supervised network `x → h1 → … → h_L → y` (10 one-hot label units)
//!   trained by ordinary back-propagation with the learner's layers, loss and optimizer;
//!   [`in_run`] trains it into a supervised run's folder.

pub mod backprop;
pub mod in_run;
