//! Criterion benches of the kernels the learner spends its time in. Throughput is reported in
//! FLOP (one multiply-add = 2 FLOP), so criterion's "elem/s" reads as FLOP/s.
//!
//! `cargo bench -p bpdl --bench kernels -- gemm` measures the GEMM wrapper on the model's shapes
//! with 1 and 2 threads, `-- affine_packed` the packed-weight layer of INFERENCE; names are prefixed `cpu_` so results from other backends never mix.
//! Each call enters the device's thread pool itself, as a library user's call does (`bpdl bench`
//! times whole steps inside the pool).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use bpdl::backend::{PackedLayer, PackedRows, PackedWeights};
use bpdl::testing::Workload;
use bpdl::{Activation, Device};

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = bpdl::rng::Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || StandardNormal.sample(&mut rng))
}

fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_gemm");
    // (name, m, k, n, transpose_a): C[m×n] = A[m×k]·B[k×n]; for the weight update A is
    // stored as [k×m] (a minibatch of activations) and passed as the transposed view.
    let shapes = [
        ("fwd_100x784x1000", 100, 784, 1000, false),
        ("fwd_100x1000x784", 100, 1000, 784, false),
        ("fwd_100x1000x100", 100, 1000, 100, false),
        ("upd_1000x100x784_at", 1000, 100, 784, true),
    ];
    for threads in [1, 2] {
        let dev = Device::cpu(threads).unwrap();
        for &(name, m, k, n, transposed) in &shapes {
            let a = if transposed {
                random(k, m, 1)
            } else {
                random(m, k, 1)
            };
            let b = random(k, n, 2);
            let mut out = Array2::<f32>::zeros((m, n));
            group.throughput(Throughput::Elements((2 * m * n * k) as u64));
            group.bench_function(BenchmarkId::new(name, format!("{threads}t")), |bench| {
                bench.iter(|| {
                    let av = if transposed { a.t() } else { a.view() };
                    dev.matmul(1.0, av, b.view(), 0.0, out.view_mut());
                })
            });
        }
    }
    group.finish();
}

/// The packed-weight layer INFERENCE uses, `φ(X·W + b)` with W packed beforehand, on the
/// forward shapes (softplus output: the bias + non-linearity pass is included).
fn packed_affine(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_affine_packed");
    let shapes = [
        ("fwd_100x784x1000", 100, 784, 1000),
        ("fwd_100x1000x784", 100, 1000, 784),
        ("fwd_100x1000x100", 100, 1000, 100),
    ];
    for threads in [1, 2] {
        let dev = Device::cpu(threads).unwrap();
        for &(name, m, k, n) in &shapes {
            let (x, w) = (random(m, k, 1), random(k, n, 2));
            let b = ndarray::Array1::<f32>::zeros(n);
            let mut packed = PackedWeights::default();
            packed.pack(&dev, w.view());
            let mut rows = PackedRows::default();
            let mut out = Array2::<f32>::zeros((m, n));
            group.throughput(Throughput::Elements((2 * m * n * k) as u64));
            group.bench_function(BenchmarkId::new(name, format!("{threads}t")), |bench| {
                bench.iter(|| {
                    dev.affine_packed(
                        x.view(),
                        PackedLayer {
                            w: w.view(),
                            packed: &packed,
                            b: b.view(),
                            activation: Activation::Softplus,
                        },
                        &mut rows,
                        out.view_mut(),
                    );
                })
            });
        }
    }
    group.finish();
}

fn activations(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_bias_activation");
    let bias = ndarray::Array1::<f32>::zeros(1000);
    for act in [Activation::Sigmoid, Activation::Softplus] {
        let mut m = random(100, 1000, 3);
        group.throughput(Throughput::Elements(100 * 1000));
        group.bench_function(act.name(), |b| {
            b.iter(|| {
                for mut row in m.rows_mut() {
                    let row = row.as_slice_mut().unwrap();
                    bpdl::backend::elementwise::bias_activation(row, bias.as_slice().unwrap(), act);
                    row.iter_mut().for_each(|v| *v -= 0.5);
                }
            })
        });
    }
    group.finish();
}

fn learner(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_learner");
    group.sample_size(20);
    let dev = Device::cpu(2).unwrap();
    let w = Workload::paper(100);
    group.throughput(Throughput::Elements(w.inference_flops() as u64));
    group.bench_function("inference_minibatch_2t", |b| {
        let mut s = w.state();
        b.iter(|| s.e_step(&dev))
    });
    group.throughput(Throughput::Elements(w.train_flops() as u64));
    group.bench_function("train_minibatch_2t", |b| {
        let mut s = w.state();
        b.iter(|| s.train_step(&dev))
    });
    group.finish();
}

fn parzen(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_parzen");
    group.sample_size(10);
    let dev = Device::cpu(2).unwrap();
    let samples = random(10_000, 784, 5).mapv(|v| v.abs().min(1.0));
    let test = random(10_000, 784, 6).mapv(|v| v.abs().min(1.0));
    group.throughput(Throughput::Elements(2 * 10_000 * 10_000 * 784));
    group.bench_function("10k_samples_10k_points_2t", |b| {
        b.iter(|| bpdl::eval::parzen::score(&dev, samples.view(), test.view(), 0.2).unwrap())
    });
    group.finish();
}

criterion_group!(benches, gemm, packed_affine, activations, learner, parzen);
criterion_main!(benches);
