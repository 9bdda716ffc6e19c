//! Oracles: the closed form of a mixture of 1-D Gaussians, the identity that duplicating every
//! sample leaves the mixture unchanged, the exact value for a far-away point (where a naive
//! `log(Σ exp)` underflows to −inf), and a plain f64 double loop as a second implementation
//! (across several GEMM blocks). A wrong constant here would shift every reported score.

use bpdl::Device;
use bpdl::eval::parzen::{evaluate, log_densities, mean_se, sigma_grid};
use bpdl::rng::Seed;
use ndarray::{Array2, Axis, array, concatenate};
use rand::RngExt;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;

#[test]
fn one_dimensional_mixture_matches_the_closed_form() {
    let dev = Device::cpu(1).unwrap();
    let samples = array![[-1.0f32], [0.5], [2.0]];
    let points = array![[0.0f32], [1.7], [-3.0]];
    for sigma in [0.3, 1.0, 2.5] {
        let ll = log_densities(&dev, samples.view(), points.view(), &[sigma]).unwrap();
        for (i, &x) in [0.0f64, 1.7, -3.0].iter().enumerate() {
            let density: f64 = [-1.0f64, 0.5, 2.0]
                .iter()
                .map(|m| {
                    (-(x - m).powi(2) / (2.0 * sigma * sigma)).exp()
                        / (sigma * (2.0 * std::f64::consts::PI).sqrt())
                })
                .sum::<f64>()
                / 3.0;
            assert!(
                (ll[0][i] - density.ln()).abs() < 1e-5,
                "σ={sigma} x={x}: {} vs {}",
                ll[0][i],
                density.ln()
            );
        }
    }
}

#[test]
fn duplicating_every_sample_leaves_the_estimate_unchanged() {
    let dev = Device::cpu(2).unwrap();
    let mut r = Seed(3).stream("p");
    let samples = Array2::from_shape_simple_fn((60, 12), || r.random_range(0.0f32..1.0));
    let points = Array2::from_shape_simple_fn((25, 12), || r.random_range(0.0f32..1.0));
    let doubled = concatenate(Axis(0), &[samples.view(), samples.view()]).unwrap();
    let a = log_densities(&dev, samples.view(), points.view(), &[0.2, 0.5]).unwrap();
    let b = log_densities(&dev, doubled.view(), points.view(), &[0.2, 0.5]).unwrap();
    for (x, y) in a.iter().zip(&b) {
        for (u, v) in x.iter().zip(y) {
            assert!((u - v).abs() < 1e-6, "{u} vs {v}");
        }
    }
}

#[test]
fn far_away_points_give_finite_exact_values_not_minus_infinity() {
    let dev = Device::cpu(1).unwrap();
    let samples = array![[0.0f32, 0.0], [0.0, 0.0]];
    let points = array![[30.0f32, 40.0]];
    let sigma = 0.1;
    let ll = log_densities(&dev, samples.view(), points.view(), &[sigma]).unwrap();
    // both kernels at distance 50: log p = −50²/(2σ²) − 2·(log σ + log √2π)
    let expected = -2500.0 / (2.0 * sigma * sigma) - 2.0 * (sigma.ln() + LN_SQRT_2PI);
    assert!(ll[0][0].is_finite());
    assert!(
        (ll[0][0] - expected).abs() < 1e-6 * expected.abs(),
        "{} vs {expected}",
        ll[0][0]
    );
}

/// More samples than one GEMM block and more points than one point block: the online
/// log-sum-exp across blocks must agree with a plain f64 double loop.
#[test]
fn blocked_evaluation_agrees_with_a_plain_double_loop() {
    let dev = Device::cpu(2).unwrap();
    let mut r = Seed(4).stream("p");
    let (n, m, d) = (11_000, 520, 3);
    let samples = Array2::from_shape_simple_fn((n, d), || r.random_range(0.0f32..1.0));
    let points = Array2::from_shape_simple_fn((m, d), || r.random_range(-0.5f32..1.5));
    let sigma = 0.15;
    let ll = log_densities(&dev, samples.view(), points.view(), &[sigma]).unwrap();
    for i in (0..m).step_by(37) {
        let terms: Vec<f64> = samples
            .rows()
            .into_iter()
            .map(|sr| {
                let d2: f64 = sr
                    .iter()
                    .zip(points.row(i))
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                -d2 / (2.0 * sigma * sigma)
            })
            .collect();
        let mx = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + terms.iter().map(|t| (t - mx).exp()).sum::<f64>().ln();
        let expected = lse - (n as f64).ln() - d as f64 * (sigma.ln() + LN_SQRT_2PI);
        assert!(
            (ll[0][i] - expected).abs() < 1e-3,
            "point {i}: {} vs {expected}",
            ll[0][i]
        );
    }
}

#[test]
fn the_protocol_picks_the_grid_sigma_with_the_best_validation_score() {
    let dev = Device::cpu(2).unwrap();
    let mut r = Seed(5).stream("p");
    let samples = Array2::from_shape_simple_fn((300, 5), || r.random_range(0.0f32..1.0));
    let valid = Array2::from_shape_simple_fn((100, 5), || r.random_range(0.0f32..1.0));
    let (score, curve) = evaluate(&dev, samples.view(), valid.view(), valid.view(), None).unwrap();
    assert_eq!(curve.len(), sigma_grid().len());
    let best = curve.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    assert!((score.mean - best).abs() < 1e-9);
    let ll = log_densities(&dev, samples.view(), valid.view(), &[score.sigma]).unwrap();
    let (m, se) = mean_se(&ll[0]);
    assert!((m - score.mean).abs() < 1e-12 && (se - score.se).abs() < 1e-12);
}

#[test]
fn bad_sigma_or_shapes_are_errors() {
    let dev = Device::cpu(1).unwrap();
    let a = array![[0.0f32, 1.0]];
    assert!(log_densities(&dev, a.view(), a.view(), &[0.0]).is_err());
    let b = array![[0.0f32]];
    assert!(log_densities(&dev, a.view(), b.view(), &[0.2]).is_err());
}

/// At MNIST's dimension and the smallest σ of the grid, the f32 expansion
/// ‖x‖² + ‖s‖² − 2x·s must stay within a hundredth of a nat of direct f64 differences, for points
/// near samples (where the estimate is decided) and far from them.
#[test]
fn the_gemm_expansion_is_precise_at_mnist_dimension() {
    let dev = Device::cpu(2).unwrap();
    let mut r = Seed(6).stream("p");
    let (n, d, sigma) = (300, 784, 0.1);
    let samples = Array2::from_shape_simple_fn((n, d), || {
        if r.random::<f32>() < 0.8 {
            0.0
        } else {
            r.random::<f32>()
        }
    });
    let mut points = samples.slice(ndarray::s![..40, ..]).to_owned();
    points.mapv_inplace(|v| (v + 0.05 * (r.random::<f32>() - 0.5)).clamp(0.0, 1.0));
    let far = Array2::from_shape_simple_fn((10, d), || r.random::<f32>());
    let points = concatenate(Axis(0), &[points.view(), far.view()]).unwrap();
    let ll = log_densities(&dev, samples.view(), points.view(), &[sigma]).unwrap();
    for (i, point) in points.rows().into_iter().enumerate() {
        let terms: Vec<f64> = samples
            .rows()
            .into_iter()
            .map(|s| {
                let d2: f64 = s
                    .iter()
                    .zip(point)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                -d2 / (2.0 * sigma * sigma)
            })
            .collect();
        let mx = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + terms.iter().map(|t| (t - mx).exp()).sum::<f64>().ln();
        let expected = lse - (n as f64).ln() - d as f64 * (sigma.ln() + LN_SQRT_2PI);
        assert!(
            (ll[0][i] - expected).abs() < 1e-2,
            "point {i}: {} vs {expected}",
            ll[0][i]
        );
    }
}

/// Each point's value is the same ordered sum whatever thread computes it: 1 and 2 threads
/// give identical results (several point and sample blocks).
#[test]
fn the_result_does_not_depend_on_the_thread_count() {
    let mut r = Seed(6).stream("p");
    let samples = Array2::from_shape_simple_fn((2500, 20), || r.random_range(0.0f32..1.0));
    let points = Array2::from_shape_simple_fn((300, 20), || r.random_range(0.0f32..1.0));
    let run = |threads| {
        let dev = Device::cpu(threads).unwrap();
        log_densities(&dev, samples.view(), points.view(), &[0.1, 0.3]).unwrap()
    };
    assert_eq!(run(1), run(2));
}
