//! The measurement behind `bpdl bench` (feature `bench`): GEMM throughput on the shapes a
//! training minibatch calls, a training minibatch, INFERENCE, GENERATE and the Parzen protocol,
//! each turned into GFLOP/s with the counts of [`crate::flops`] and the calls recorded by
//! [`crate::backend::shapes`]. Medians are [`crate::stats::median`].

use std::time::Instant;

use ndarray::{Array1, Array2};
use rand::RngExt;
use serde::Serialize;

use crate::activation::Activation;
use crate::backend::shapes::{self, GemmShape};
use crate::backend::{Device, Matrix, PackedLayer, PackedRows, PackedWeights};
use crate::config::{Accumulation, Dynamics, InferenceConfig, LearningRule};
use crate::error::Result;
use crate::eval::parzen;
use crate::model::TopPrior;
use crate::rng::Seed;
use crate::sampling;
use crate::stats::median;
use crate::testing::Workload;

/// One GEMM shape of a step: how often the step calls it and how fast it runs alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShapeTiming {
    /// The shape and operand layout.
    pub m: usize,
    /// Inner dimension.
    pub k: usize,
    /// Columns of C.
    pub n: usize,
    /// A passed as a transposed view.
    pub a_transposed: bool,
    /// Calls per training minibatch.
    pub calls_per_step: usize,
    /// Throughput of this shape alone.
    pub gflops: f64,
}

/// What `bpdl bench` measures, all in one run on one machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The CPU and its core count, as `/proc/cpuinfo` names them ([`crate::run::machine`]).
    pub machine: String,
    /// Worker threads.
    pub threads: usize,
    /// The fp32 FMA peak of these threads running at once (GFLOP/s), [`fma_peak_gflops`];
    /// `None` without AVX2 + FMA.
    pub fma_peak_gflops: Option<f64>,
    /// GEMM throughput on exactly the shapes (and calls) of a training minibatch: total FLOP
    /// over the sum of the shapes' times measured alone (median over [`ROUNDS`] rounds).
    pub gemm_gflops: f64,
    /// Per-shape detail of `gemm_gflops`.
    pub gemm_shapes: Vec<ShapeTiming>,
    /// The `gemm` crate on the main shape 100×784·784×1000 (median over rounds).
    pub main_shape_gemm_gflops: f64,
    /// The packed-weight kernel INFERENCE uses ([`crate::backend::packed`]) on the same shape,
    /// weights packed beforehand, bias added (linear output); median over the same rounds.
    pub main_shape_packed_gflops: f64,
    /// Milliseconds per training minibatch (E-step + M-step, batch 100; median over rounds).
    pub train_step_ms: f64,
    /// FLOP-counted throughput of a training minibatch.
    pub train_step_gflops: f64,
    /// Training throughput over GEMM throughput, each round's training step against the same
    /// round's GEMMs; the median over [`ROUNDS`] interleaved rounds.
    pub train_to_gemm_ratio: f64,
    /// Milliseconds per INFERENCE (E-step) of a minibatch.
    pub inference_ms: f64,
    /// FLOP-counted throughput of INFERENCE.
    pub inference_gflops: f64,
    /// INFERENCE throughput over GEMM throughput, per round as for `train_to_gemm_ratio`.
    pub inference_to_gemm_ratio: f64,
    /// Milliseconds for GENERATE of `generate_samples` samples.
    pub generate_ms: f64,
    /// Samples per GENERATE batch.
    pub generate_samples: usize,
    /// FLOP-counted throughput of GENERATE.
    pub generate_gflops: f64,
    /// `generate_gflops / gemm_gflops`.
    pub generate_to_gemm_ratio: f64,
    /// Seconds for the Parzen protocol: σ search on 1,000 validation points, then 10,000 samples
    /// against 10,000 test points.
    pub parzen_seconds: f64,
    /// FLOP-counted throughput of the Parzen evaluation (its GEMMs only).
    pub parzen_gflops: f64,
    /// A full 20-epoch training of 500 minibatches at `train_step_ms`, in minutes (the top-prior
    /// pass at the end not included).
    pub full_training_minutes: f64,
    /// Milliseconds per training minibatch with the spiking M-step (`learning.rule =
    /// "spiking"`, the default `[learning.spiking]`: kernel path; E-step as for the rate rule).
    pub spiking_train_step_ms: f64,
    /// `spiking_train_step_ms / train_step_ms`: the time of one spiking training minibatch over one
    /// rate training minibatch of the same size and architecture, per interleaved round; median.
    pub spiking_step_to_rate_step_ratio: f64,
    /// The same ratio with `accumulation = "per-step"` (one product per map and time step).
    pub spiking_per_step_to_rate_step_ratio: f64,
    /// Milliseconds per M-step alone: the rate rule's.
    pub rate_m_step_ms: f64,
    /// Milliseconds per M-step alone: the spiking rule's (kernel path), the simulation's time.
    pub spiking_m_step_ms: f64,
    /// Neurons advanced by one time step per second of the spiking M-step: `B × N ×` (the
    /// presynaptic neurons of every layer, bias's included, plus the postsynaptic neurons of
    /// every map) per `spiking_m_step_ms` ([`crate::learning::spiking::SpikeCounts`]).
    pub spiking_neuron_steps_per_second: f64,
    /// Synaptic events delivered per second of the spiking M-step: each presynaptic spike
    /// reaching each postsynaptic neuron of the maps that read its layer.
    pub spiking_synaptic_events_per_second: f64,
    /// Presynaptic spikes of one spiking M-step (all layers, the minibatch of 100).
    pub spiking_spikes_per_minibatch: f64,
    /// Milliseconds per spiking E-step of a minibatch (`inference.dynamics = "spiking"`, the
    /// default `[inference.spiking]`: 15 iterations of 10 steps).
    pub spiking_e_step_ms: f64,
    /// `spiking_e_step_ms / inference_ms`, per interleaved round; median.
    pub spiking_e_step_to_rate_e_step_ratio: f64,
    /// Neurons advanced by one time step per second of the spiking E-step
    /// ([`crate::inference::spiking::SpikeTally::neuron_steps`]).
    pub spiking_e_step_neuron_steps_per_second: f64,
    /// Synaptic events delivered per second of the spiking E-step.
    pub spiking_e_step_synaptic_events_per_second: f64,
    /// Spikes fired in one spiking E-step of the minibatch of 100.
    pub spiking_e_step_spikes_per_minibatch: f64,
    /// Milliseconds per training minibatch of stage (b): spiking E-step and spiking M-step.
    pub stage_b_train_step_ms: f64,
    /// `stage_b_train_step_ms / train_step_ms`, per interleaved round; median.
    pub stage_b_step_to_rate_step_ratio: f64,
}

/// The report as the table `bpdl bench` prints.
impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} — {} threads", self.machine, self.threads)?;
        if let Some(peak) = self.fma_peak_gflops {
            writeln!(
                f,
                "fp32 FMA peak of these threads            {peak:7.1} GFLOP/s"
            )?;
        }
        writeln!(
            f,
            "GEMM on the training minibatch's shapes  {:7.1} GFLOP/s",
            self.gemm_gflops
        )?;
        for s in &self.gemm_shapes {
            writeln!(
                f,
                "    {:>4}×{:<4}·{:>4}×{:<4}{} ×{:<3} {:7.1} GFLOP/s",
                s.m,
                s.k,
                s.k,
                s.n,
                if s.a_transposed { " (Aᵀ)" } else { "     " },
                s.calls_per_step,
                s.gflops
            )?;
        }
        writeln!(
            f,
            "100×784·784×1000: gemm crate {:.1} GFLOP/s, packed-weight kernel {:.1} GFLOP/s",
            self.main_shape_gemm_gflops, self.main_shape_packed_gflops
        )?;
        writeln!(
            f,
            "training minibatch (E+M, batch 100)       {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
            self.train_step_gflops, self.train_step_ms, self.train_to_gemm_ratio
        )?;
        writeln!(
            f,
            "INFERENCE (15 iterations, batch 100)      {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
            self.inference_gflops, self.inference_ms, self.inference_to_gemm_ratio
        )?;
        writeln!(
            f,
            "GENERATE ({} samples)                    {:7.1} GFLOP/s  {:6.1} ms   ratio to GEMM {:.2}",
            self.generate_samples,
            self.generate_gflops,
            self.generate_ms,
            self.generate_to_gemm_ratio
        )?;
        writeln!(
            f,
            "Parzen (σ search + 10k × 10k)            {:7.1} GFLOP/s  {:6.2} s",
            self.parzen_gflops, self.parzen_seconds
        )?;
        writeln!(
            f,
            "a full 20-epoch training at this speed: {:.1} minutes",
            self.full_training_minutes
        )?;
        writeln!(
            f,
            "spiking M-step: training minibatch {:.1} ms ({:.2} × the rate one; per-step path {:.2} ×)",
            self.spiking_train_step_ms,
            self.spiking_step_to_rate_step_ratio,
            self.spiking_per_step_to_rate_step_ratio
        )?;
        writeln!(
            f,
            "    M-step alone {:.1} ms (rate {:.1} ms): {:.3e} neuron-steps/s, {:.3e} synaptic events/s ({:.0} spikes)",
            self.spiking_m_step_ms,
            self.rate_m_step_ms,
            self.spiking_neuron_steps_per_second,
            self.spiking_synaptic_events_per_second,
            self.spiking_spikes_per_minibatch
        )?;
        writeln!(
            f,
            "spiking E-step {:.1} ms ({:.2} × the rate E-step): {:.3e} neuron-steps/s, {:.3e} synaptic events/s ({:.0} spikes)",
            self.spiking_e_step_ms,
            self.spiking_e_step_to_rate_e_step_ratio,
            self.spiking_e_step_neuron_steps_per_second,
            self.spiking_e_step_synaptic_events_per_second,
            self.spiking_e_step_spikes_per_minibatch
        )?;
        writeln!(
            f,
            "stage (b), spiking E- and M-step: training minibatch {:.1} ms ({:.2} × the rate one)",
            self.stage_b_train_step_ms, self.stage_b_step_to_rate_step_ratio
        )?;
        Ok(())
    }
}

/// The machine's fp32 FMA peak with this device's threads: every thread runs twelve independent
/// chains of 8-wide FMAs (enough to fill both FMA pipes of a core) for `iterations` rounds, all
/// threads at once. `None` without AVX2 + FMA.
pub fn fma_peak_gflops(dev: &Device, iterations: u64) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return None;
        }
        let start = Instant::now();
        dev.map_indexed(dev.threads(), |_| {
            // SAFETY: AVX2 and FMA were detected above.
            std::hint::black_box(unsafe { fma_chains(iterations) })
        });
        let seconds = start.elapsed().as_secs_f64();
        Some(dev.threads() as f64 * iterations as f64 * 12.0 * 16.0 / seconds / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (dev, iterations);
        None
    }
}

/// Twelve independent FMA chains of `iterations` steps each.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains(iterations: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); 12];
    // opaque constants: the chains cannot be folded at compile time
    let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm256_set1_ps(std::hint::black_box(1e-7));
    for _ in 0..iterations {
        for v in &mut acc {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    // every chain feeds the result, so none can be dropped
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    let mut out = [0f32; 8];
    // SAFETY: `out` holds 8 floats.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out[0]
}

/// Median seconds per call of `f`, over at least `min_seconds` and 5 calls after a warm-up.
pub fn time_per_call(min_seconds: f64, mut f: impl FnMut()) -> f64 {
    f();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || start.elapsed().as_secs_f64() < min_seconds {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    median(&times)
}

/// Measures the GEMM shapes of a training minibatch, a training minibatch, INFERENCE, GENERATE
/// and the Parzen protocol on `dev`, and a training minibatch with the spiking M-step; each
/// measurement runs for about `min_seconds`.
pub fn run(dev: &Device, min_seconds: f64) -> Result<BenchReport> {
    let w = Workload::paper(100);
    let mut state = w.state();
    let mut spiking_w = w.clone();
    spiking_w.config.learning.rule = LearningRule::Spiking;
    let mut per_step_w = spiking_w.clone();
    per_step_w.config.learning.spiking.accumulation = Accumulation::PerStep;
    let mut stage_b_w = spiking_w.clone();
    stage_b_w.config.inference.dynamics = Dynamics::Spiking;
    let (mut spiking, mut per_step) = (spiking_w.state(), per_step_w.state());
    let mut stage_b = stage_b_w.state();
    dev.install(|| -> Result<BenchReport> {
        // what a training minibatch calls
        let ((), calls) = shapes::recorded(dev, || state.train_step(dev));
        let (_, inference_calls) = shapes::recorded(dev, || state.e_step(dev));
        let train_flops: f64 = calls.iter().map(GemmShape::flops).sum();
        let inference_flops: f64 = inference_calls.iter().map(GemmShape::flops).sum();
        let mut distinct: Vec<(GemmShape, usize)> = Vec::new();
        for c in &calls {
            match distinct.iter_mut().find(|(s, _)| s == c) {
                Some((_, n)) => *n += 1,
                None => distinct.push((*c, 1)),
            }
        }
        // The VM's speed drifts by tens of percent over seconds, so the GEMMs and the steps are
        // measured in interleaved rounds and each ratio is the median of its per-round ratios.
        let mut operands: Vec<ShapeOperands> = distinct
            .iter()
            .map(|(s, _)| ShapeOperands::new(s))
            .collect();
        let per_round = min_seconds / ROUNDS as f64;
        let mut shape_times = vec![Vec::new(); distinct.len()];
        let (mut gemm_step, mut train_times, mut inference_times) =
            (Vec::new(), Vec::new(), Vec::new());
        let (mut spiking_times, mut per_step_times) = (Vec::new(), Vec::new());
        let (mut rate_m_times, mut spiking_m_times) = (Vec::new(), Vec::new());
        let (mut spiking_e_times, mut stage_b_times) = (Vec::new(), Vec::new());
        let mut main = MainShape::new(dev);
        let (mut main_gemm, mut main_packed) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let mut step = 0.0;
            for (i, (_, count)) in distinct.iter().enumerate() {
                let t = time_per_call(per_round / distinct.len() as f64, || operands[i].run(dev));
                shape_times[i].push(t);
                step += t * *count as f64;
            }
            gemm_step.push(step);
            main_gemm.push(time_per_call(per_round / 4.0, || main.gemm(dev)));
            main_packed.push(time_per_call(per_round / 4.0, || main.packed(dev)));
            train_times.push(time_per_call(per_round, || state.train_step(dev)));
            inference_times.push(time_per_call(per_round, || state.e_step(dev)));
            spiking_times.push(time_per_call(per_round, || spiking.train_step(dev)));
            per_step_times.push(time_per_call(per_round, || per_step.train_step(dev)));
            rate_m_times.push(time_per_call(per_round / 2.0, || state.m_step(dev)));
            spiking_m_times.push(time_per_call(per_round / 2.0, || spiking.m_step(dev)));
            spiking_e_times.push(time_per_call(per_round / 2.0, || stage_b.e_step(dev)));
            stage_b_times.push(time_per_call(per_round / 2.0, || stage_b.train_step(dev)));
        }
        // per round: the spiking minibatch over the same round's rate minibatch
        let over = |times: &[f64], rate: &[f64]| {
            let r: Vec<f64> = times.iter().zip(rate).map(|(s, r)| s / r).collect();
            median(&r)
        };
        let spiking_step_to_rate_step_ratio = over(&spiking_times, &train_times);
        let spiking_per_step_to_rate_step_ratio = over(&per_step_times, &train_times);
        let spiking_e_step_to_rate_e_step_ratio = over(&spiking_e_times, &inference_times);
        let stage_b_step_to_rate_step_ratio = over(&stage_b_times, &train_times);
        let spiking_e = median(&spiking_e_times);
        // the tally of the last call: a stage-(b) training step's E-step
        let tally = stage_b.e_step_spike_tally();
        let spiking_m = median(&spiking_m_times);
        let counts = spiking
            .spike_counts()
            .expect("the spiking workload ran spiking M-steps");
        let gemm_shapes = distinct
            .iter()
            .zip(&shape_times)
            .map(|((shape, count), times)| ShapeTiming {
                m: shape.m,
                k: shape.k,
                n: shape.n,
                a_transposed: shape.a_transposed,
                calls_per_step: *count,
                gflops: shape.flops() / median(times) / 1e9,
            })
            .collect();
        let gemm_gflops = train_flops / median(&gemm_step) / 1e9;
        let train = median(&train_times);
        let inference = median(&inference_times);
        // per round: (FLOP / time) / (train FLOP / GEMM time of the step's shapes)
        let round_ratios = |times: &[f64], flops: f64| {
            let r: Vec<f64> = times
                .iter()
                .zip(&gemm_step)
                .map(|(t, g)| (flops / t) / (train_flops / g))
                .collect();
            median(&r)
        };
        let train_to_gemm_ratio = round_ratios(&train_times, train_flops);
        let inference_to_gemm_ratio = round_ratios(&inference_times, inference_flops);

        let mut model = w.model.clone();
        model.top_prior = Some(TopPrior {
            mean: Array1::from_elem(model.top_size(), 0.5),
            var: Array1::from_elem(model.top_size(), 0.25),
            factor: None,
            lateral: None,
        });
        let generate_samples = 500;
        let params = InferenceConfig {
            alpha: w.config.generate.alpha,
            ..w.config.inference
        };
        let mut rng = Seed(3).stream("bench-generate");
        let mut generate_once = || {
            let _ = sampling::generate(
                dev,
                &model,
                generate_samples,
                w.config.generate.rounds,
                &params,
                generate_samples,
                &mut rng,
            );
        };
        let (_, generate_calls) = shapes::recorded(dev, &mut generate_once);
        let generate_flops: f64 = generate_calls.iter().map(GemmShape::flops).sum();
        let generate = time_per_call(min_seconds, &mut generate_once);

        let mut r = Seed(4).stream("bench-parzen");
        let mut pixels = |n: usize| {
            Array2::from_shape_simple_fn((n, 784), || {
                if r.random::<f32>() < 0.8 {
                    0.0
                } else {
                    r.random::<f32>()
                }
            })
        };
        let (samples, validation, test) = (pixels(10_000), pixels(1000), pixels(10_000));
        let mut parzen_once = || {
            let _ = parzen::evaluate(dev, samples.view(), validation.view(), test.view(), None);
        };
        let (_, parzen_calls) = shapes::recorded(dev, &mut parzen_once as &mut dyn FnMut());
        let parzen_flops: f64 = parzen_calls.iter().map(GemmShape::flops).sum();
        let parzen_seconds = time_per_call(min_seconds, &mut parzen_once);

        let train_step_gflops = train_flops / train / 1e9;
        let inference_gflops = inference_flops / inference / 1e9;
        let generate_gflops = generate_flops / generate / 1e9;
        Ok(BenchReport {
            machine: crate::run::machine(),
            threads: dev.threads(),
            fma_peak_gflops: fma_peak_gflops(dev, 100_000_000),
            gemm_gflops,
            gemm_shapes,
            main_shape_gemm_gflops: MainShape::FLOPS / median(&main_gemm) / 1e9,
            main_shape_packed_gflops: MainShape::FLOPS / median(&main_packed) / 1e9,
            train_step_ms: train * 1e3,
            train_step_gflops,
            train_to_gemm_ratio,
            inference_ms: inference * 1e3,
            inference_gflops,
            inference_to_gemm_ratio,
            generate_ms: generate * 1e3,
            generate_samples,
            generate_gflops,
            generate_to_gemm_ratio: generate_gflops / gemm_gflops,
            parzen_seconds,
            parzen_gflops: parzen_flops / parzen_seconds / 1e9,
            full_training_minutes: train * 500.0 * 20.0 / 60.0,
            spiking_train_step_ms: median(&spiking_times) * 1e3,
            spiking_step_to_rate_step_ratio,
            spiking_per_step_to_rate_step_ratio,
            rate_m_step_ms: median(&rate_m_times) * 1e3,
            spiking_m_step_ms: spiking_m * 1e3,
            spiking_neuron_steps_per_second: counts.neuron_steps / spiking_m,
            spiking_synaptic_events_per_second: counts.synaptic_events / spiking_m,
            spiking_spikes_per_minibatch: counts.presynaptic.iter().sum(),
            spiking_e_step_ms: spiking_e * 1e3,
            spiking_e_step_to_rate_e_step_ratio,
            spiking_e_step_neuron_steps_per_second: tally.neuron_steps / spiking_e,
            spiking_e_step_synaptic_events_per_second: tally.events / spiking_e,
            spiking_e_step_spikes_per_minibatch: tally.spikes,
            stage_b_train_step_ms: median(&stage_b_times) * 1e3,
            stage_b_step_to_rate_step_ratio,
        })
    })
}

/// Interleaved measurement rounds of the GEMM shapes, the training step and INFERENCE.
pub const ROUNDS: usize = 7;

/// 100×784·784×1000, the largest product of a step, through the `gemm` crate and through the
/// packed kernel.
struct MainShape {
    x: Matrix,
    w: Matrix,
    packed: PackedWeights,
    rows: PackedRows,
    b: Array1<f32>,
    y: Matrix,
}

impl MainShape {
    const FLOPS: f64 = 2.0 * 100.0 * 784.0 * 1000.0;

    fn new(dev: &Device) -> Self {
        let mut r = Seed(6).stream("bench-main-shape");
        let mut random = |rows: usize, cols: usize| {
            Array2::from_shape_simple_fn((rows, cols), || r.random_range(-1.0f32..1.0))
        };
        let (x, w) = (random(100, 784), random(784, 1000));
        let mut packed = PackedWeights::default();
        packed.pack(dev, w.view());
        Self {
            x,
            w,
            packed,
            rows: PackedRows::default(),
            b: Array1::zeros(1000),
            y: Matrix::zeros((100, 1000)),
        }
    }

    fn gemm(&mut self, dev: &Device) {
        dev.matmul(1.0, self.x.view(), self.w.view(), 0.0, self.y.view_mut());
    }

    fn packed(&mut self, dev: &Device) {
        dev.affine_packed(
            self.x.view(),
            PackedLayer {
                w: self.w.view(),
                packed: &self.packed,
                b: self.b.view(),
                activation: Activation::Linear,
            },
            &mut self.rows,
            self.y.view_mut(),
        );
    }
}

/// Random operands of one GEMM shape with the given operand layout, and its output.
struct ShapeOperands {
    shape: GemmShape,
    a: Matrix,
    b: Matrix,
    c: Matrix,
}

impl ShapeOperands {
    fn new(s: &GemmShape) -> Self {
        let mut r = Seed(5).stream("bench-gemm");
        let mut random = |rows: usize, cols: usize| {
            Array2::from_shape_simple_fn((rows, cols), || r.random_range(-1.0f32..1.0))
        };
        let a = if s.a_transposed {
            random(s.k, s.m)
        } else {
            random(s.m, s.k)
        };
        let b = if s.b_transposed {
            random(s.n, s.k)
        } else {
            random(s.k, s.n)
        };
        Self {
            shape: *s,
            a,
            b,
            c: Matrix::zeros((s.m, s.n)),
        }
    }

    fn run(&mut self, dev: &Device) {
        let s = &self.shape;
        let av = if s.a_transposed {
            self.a.t()
        } else {
            self.a.view()
        };
        let bv = if s.b_transposed {
            self.b.t()
        } else {
            self.b.view()
        };
        dev.matmul(1.0, av, bv, 0.0, self.c.view_mut());
    }
}
