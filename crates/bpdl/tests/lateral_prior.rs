//! The lateral top prior (`model::lateral`). Oracles: closed forms and definitions.
//!
//! * The linear variant fitted by its local rule to convergence holds the conditionals of the
//!   full-covariance Gaussian of its sample: `V_ij = −Λ_ij/Λ_ii`, `c_i = μ_i − Σ_j V_ij μ_j`,
//!   `s_i² = 1/Λ_ii` with `Λ` the inverse of the sample covariance, computed here by an
//!   independent f64 Gauss–Jordan inverse.
//! * The Gibbs chain of the linear variant samples that Gaussian (covariance within its standard
//!   errors); the chain of a sigmoid variant whose conditionals are those of a 3-unit Boltzmann
//!   machine samples its joint, computed by enumerating the 8 states.
//! * A checkpoint keeps the lateral prior exactly; a mis-shaped or self-connected one is an
//!   error naming it; a checkpoint without one loads as the Gaussian prior.
//! * Fitting the lateral part leaves the Gaussian part of the prior as it was.
//!
//! A fit that settled elsewhere, or a chain that updated all units at once (which samples
//! another distribution), would still produce plausible codes; only these checks notice.

mod common;

use bpdl::checkpoint;
use bpdl::config::{Config, LateralKind, LateralPriorConfig};
use bpdl::model::GenerativeModel;
use bpdl::model::lateral::{Conditional, LateralPrior};
use bpdl::model::objective::log_top_prior;
use bpdl::rng::Seed;
use bpdl::sampling;
use bpdl::train::{self, TrainState};
use bpdl::{Device, Matrix};
use ndarray::{Array1, Array2, array};
use rand::RngExt;
use rand_distr::StandardNormal;

/// The inverse of a symmetric positive-definite matrix by Gauss–Jordan elimination, in f64.
fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut m = a.clone();
    let mut inv = Array2::<f64>::eye(n);
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| m[[x, col]].abs().total_cmp(&m[[y, col]].abs()))
            .unwrap();
        for k in 0..n {
            m.swap([col, k], [pivot, k]);
            inv.swap([col, k], [pivot, k]);
        }
        let p = m[[col, col]];
        for k in 0..n {
            m[[col, k]] /= p;
            inv[[col, k]] /= p;
        }
        for r in 0..n {
            if r != col {
                let f = m[[r, col]];
                for k in 0..n {
                    m[[r, k]] -= f * m[[col, k]];
                    inv[[r, k]] -= f * inv[[col, k]];
                }
            }
        }
    }
    inv
}

/// Mean and covariance (1/N) of the rows, in f64.
fn moments(h: &Matrix) -> (Array1<f64>, Array2<f64>) {
    let h = h.mapv(f64::from);
    let n = h.nrows() as f64;
    let mean = h.mean_axis(ndarray::Axis(0)).unwrap();
    let d = &h - &mean;
    (mean, d.t().dot(&d) / n)
}

/// `N` draws of `N(μ, L·Lᵀ)`.
fn gaussian_codes(n: usize, mean: &[f64], l: &Array2<f64>, seed: u64) -> Matrix {
    let mut r = Seed(seed).stream("codes");
    let k = mean.len();
    let mut h = Matrix::zeros((n, k));
    for mut row in h.rows_mut() {
        let z: Vec<f64> = (0..k).map(|_| r.sample(StandardNormal)).collect();
        for i in 0..k {
            row[i] = (mean[i] + (0..=i).map(|j| l[[i, j]] * z[j]).sum::<f64>()) as f32;
        }
    }
    h
}

fn correlated_factor() -> Array2<f64> {
    array![
        [1.0, 0.0, 0.0, 0.0],
        [0.6, 0.8, 0.0, 0.0],
        [-0.4, 0.3, 0.7, 0.0],
        [0.2, -0.5, 0.4, 0.6]
    ]
}

#[test]
fn the_linear_lateral_prior_converges_to_the_full_covariance_gaussians_conditionals() {
    let dev = Device::cpu(2).unwrap();
    let mu = [0.5, -0.3, 0.2, 0.1];
    let h = gaussian_codes(4000, &mu, &correlated_factor(), 1);
    // full-batch steps: plain gradient descent with momentum, which converges to the minimum
    let settings = LateralPriorConfig {
        kind: LateralKind::Linear,
        epochs: 1500,
        lr: 0.3,
        momentum: 0.9,
        batch_size: h.nrows(),
        sweeps: 40,
    };
    let mut rng = Seed(2).stream("fit");
    let p = LateralPrior::fit(
        &dev,
        Conditional::Linear,
        h.view(),
        &settings,
        1.0,
        &mut rng,
    )
    .unwrap();
    let (mean, cov) = moments(&h);
    let lambda = inverse(&cov);
    let k = mu.len();
    for i in 0..k {
        let mut predicted_mean = mean[i];
        for j in 0..k {
            let expected = if i == j {
                0.0
            } else {
                -lambda[[i, j]] / lambda[[i, i]]
            };
            let got = f64::from(p.weight[[j, i]]);
            assert!(
                (got - expected).abs() < 2e-3,
                "V[{i},{j}] {got} vs {expected}"
            );
            predicted_mean -= expected * mean[j];
        }
        let c = f64::from(p.bias[i]);
        assert!(
            (c - predicted_mean).abs() < 2e-3,
            "c[{i}] {c} vs {predicted_mean}"
        );
        let s2 = f64::from(p.var[i]);
        let expected = 1.0 / lambda[[i, i]];
        assert!(
            (s2 - expected).abs() < 2e-3 * expected,
            "s²[{i}] {s2} vs {expected}"
        );
    }

    // Its Gibbs chain samples that Gaussian: 20,000 chains from 0, 40 sweeps.
    let chains = 20_000;
    let mut x = Matrix::zeros((chains, k));
    p.sample(&dev, &mut x, &mut Seed(3).stream("chain"));
    let (m2, c2) = moments(&x);
    for i in 0..k {
        let se_mean = (cov[[i, i]] / chains as f64).sqrt();
        assert!(
            (m2[i] - mean[i]).abs() < 5.0 * se_mean,
            "mean {i}: {} vs {}",
            m2[i],
            mean[i]
        );
        for j in 0..k {
            // s.e. of a covariance entry √((Σ_ii Σ_jj + Σ_ij²)/N)
            let se = ((cov[[i, i]] * cov[[j, j]] + cov[[i, j]].powi(2)) / chains as f64).sqrt();
            assert!(
                (c2[[i, j]] - cov[[i, j]]).abs() < 5.0 * se,
                "cov[{i},{j}]: {} vs {}",
                c2[[i, j]],
                cov[[i, j]]
            );
        }
    }
}

/// A sigmoid lateral prior with symmetric V is a Boltzmann machine,
/// `p(h) ∝ exp(½ hᵀVh + cᵀh)`, whose conditionals are exactly `sigm(Σ_j V_ij h_j + c_i)`.
#[test]
fn the_sigmoid_chain_samples_the_joint_its_conditionals_define() {
    let dev = Device::cpu(2).unwrap();
    let v = array![[0.0f32, 1.5, -1.0], [1.5, 0.0, 0.8], [-1.0, 0.8, 0.0]];
    let c = array![-0.5f32, 0.3, 0.2];
    let mut p = LateralPrior::new(Conditional::Sigmoid, 3, 0);
    p.weight = v.clone();
    p.bias = c.clone();
    // the exact joint by enumeration
    let energy = |s: [f64; 3]| {
        let mut e = 0.0;
        for i in 0..3 {
            e += f64::from(c[i]) * s[i];
            for j in i + 1..3 {
                e += f64::from(v[[i, j]]) * s[i] * s[j];
            }
        }
        e
    };
    let states: Vec<[f64; 3]> = (0..8)
        .map(|b| {
            [
                f64::from(b & 1),
                f64::from((b >> 1) & 1),
                f64::from((b >> 2) & 1),
            ]
        })
        .collect();
    let z: f64 = states.iter().map(|&s| energy(s).exp()).sum();
    let chains = 40_000;
    let mut h = Matrix::zeros((chains, 3));
    p.gibbs_sweeps(&dev, &mut h, 20, &mut Seed(4).stream("chain"));
    let mut counts = [0usize; 8];
    for row in h.rows() {
        assert!(row.iter().all(|&x| x == 0.0 || x == 1.0), "binary states");
        let b = row[0] as usize + 2 * row[1] as usize + 4 * row[2] as usize;
        counts[b] += 1;
    }
    for (b, &s) in states.iter().enumerate() {
        let exact = energy(s).exp() / z;
        let freq = counts[b] as f64 / chains as f64;
        let se = (exact * (1.0 - exact) / chains as f64).sqrt();
        assert!(
            (freq - exact).abs() < 5.0 * se,
            "state {s:?}: {freq} vs {exact}"
        );
    }
    // the prior's samples are the conditional means of the last state: in (0, 1)
    p.sweeps = 5;
    let mut x = Matrix::from_elem((10, 3), 2.0); // a Gaussian start outside [0, 1] is clipped
    p.sample(&dev, &mut x, &mut Seed(5).stream("s"));
    assert!(x.iter().all(|&v| v > 0.0 && v < 1.0));
}

fn trained_small_state(kind: LateralKind) -> (TrainState, Config, Matrix) {
    let dev = Device::cpu(2).unwrap();
    let mut config = common::small_config(20, 6);
    config.train.epochs = 1;
    config.train.lateral_prior.kind = kind;
    config.train.lateral_prior.epochs = 3;
    let x = common::manifold_data(100, 16, 3, 1);
    let mut state = TrainState::new(&config, 16);
    train::train(&dev, x.view(), &config, &mut state, &mut ()).unwrap();
    (state, config, x)
}

#[test]
fn training_fits_a_lateral_prior_that_the_samplers_use_and_leaves_the_gaussian_as_it_was() {
    let dev = Device::cpu(2).unwrap();
    let (state, config, x) = trained_small_state(LateralKind::Sigmoid);
    let prior = state.model.top_prior.as_ref().unwrap();
    let lat = prior.lateral.as_ref().expect("a lateral part");
    assert_eq!(lat.conditional, Conditional::Sigmoid);
    assert!(lat.weight.diag().iter().all(|&v| v == 0.0));
    assert!(train::prior_fits(&state.model, &config));
    // the Gaussian part is the one fitted without the lateral connections
    let mut plain = config.clone();
    plain.train.lateral_prior.kind = LateralKind::None;
    assert!(!train::prior_fits(&state.model, &plain));
    let (a, b) = (&mut Seed(7).stream("p"), &mut Seed(7).stream("p"));
    let with = train::fit_top_prior(&dev, &state.model, x.view(), &config, a).unwrap();
    let without = train::fit_top_prior(&dev, &state.model, x.view(), &plain, b).unwrap();
    assert_eq!((&with.mean, &with.var), (&without.mean, &without.var));
    assert!(without.lateral.is_none());
    // log p(h_L) is the pseudo-log-likelihood
    let h = Matrix::from_elem((2, 6), 1.0);
    let lp = log_top_prior(&dev, &with, h.view());
    let pll = with
        .lateral
        .as_ref()
        .unwrap()
        .pseudo_log_likelihood(&dev, h.view());
    assert_eq!(lp, pll);
    // the samplers draw h_L through the chain: the ancestral draws differ from the Gaussian's
    let mut gaussian = state.model.clone();
    gaussian.top_prior.as_mut().unwrap().lateral = None;
    let s = |m: &GenerativeModel| sampling::ancestral(&dev, m, 50, &mut Seed(8).stream("s"));
    let (lateral_x, gaussian_x) = (s(&state.model).unwrap(), s(&gaussian).unwrap());
    assert_ne!(lateral_x, gaussian_x);
    assert!(lateral_x.iter().all(|v| v.is_finite()));
    let g = sampling::sample(
        &dev,
        &state.model,
        sampling::Method::Generate,
        20,
        &config,
        &mut Seed(9).stream("g"),
    )
    .unwrap();
    assert!(g.iter().all(|v| v.is_finite()));
}

#[test]
fn a_checkpoint_keeps_the_lateral_prior_and_rejects_a_broken_one() {
    let dir = std::env::temp_dir().join(format!("bpdl-lateral-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (state, config, _) = trained_small_state(LateralKind::Linear);
    let path = dir.join("ok.safetensors");
    checkpoint::save(&path, &state, &config).unwrap();
    let (back, back_config) = checkpoint::load(&path).unwrap();
    assert_eq!(back.model, state.model);
    assert_eq!(back_config, config);
    assert!(back.model.top_prior.as_ref().unwrap().lateral.is_some());

    // a checkpoint without a lateral part (as written before they existed) loads as before
    let mut gaussian = state.clone();
    gaussian.model.top_prior.as_mut().unwrap().lateral = None;
    checkpoint::save(&path, &gaussian, &config).unwrap();
    let (back, _) = checkpoint::load(&path).unwrap();
    assert_eq!(back.model.top_prior, gaussian.model.top_prior);

    let broken = |f: &dyn Fn(&mut LateralPrior)| {
        let mut s = state.clone();
        f(s.model
            .top_prior
            .as_mut()
            .unwrap()
            .lateral
            .as_mut()
            .unwrap());
        checkpoint::save(&path, &s, &config).unwrap();
        checkpoint::load(&path).unwrap_err().to_string()
    };
    let err = broken(&|l| l.weight = Matrix::zeros((6, 5)));
    assert!(err.contains("prior.lateral.weight"), "{err}");
    let err = broken(&|l| l.weight[[2, 2]] = 1.0);
    assert!(err.contains("diagonal"), "{err}");
    let err = broken(&|l| l.bias = Array1::zeros(4));
    assert!(err.contains("prior.lateral.bias"), "{err}");
    let err = broken(&|l| l.var[0] = f32::NAN);
    assert!(err.contains("variances"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
