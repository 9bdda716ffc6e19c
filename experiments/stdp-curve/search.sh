#!/usr/bin/env bash
# The parameter search of README.md: one `bpdl stdp` run per row (seed 1, 40 000 trials, the
# delta rule skipped), printed as a Markdown table. Every row is the defaults plus its --set's.
#   BPDL=target/release/bpdl bash experiments/stdp-curve/search.sh > /tmp/search.md   (≈ 1 min)
set -euo pipefail
cd "$(dirname "$0")/../.."
bpdl=${BPDL:-target/release/bpdl}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

ramp="--set drive.kind=ramp --set neuron.tau_membrane_ms=20"
ou="--set drive.kind=ou --set neuron.tau_membrane_ms=20"
rows=(
  "ramp (gap S5): slopes ±0.01…0.5/ms@@$ramp"
  "ramp, slopes ±0.02…0.5/ms@@$ramp --set drive.ramp.slope_min_per_ms=0.02"
  "ramp, slopes ±0.01…0.2/ms@@$ramp --set drive.ramp.slope_max_per_ms=0.2"
  "ramp, falling slopes ×0.5@@$ramp --set drive.ramp.falling_slope_scale=0.5"
  "ramp, falling slopes ×0.3@@$ramp --set drive.ramp.falling_slope_scale=0.3"
  "ramp, deterministic threshold@@$ramp --set neuron.model=threshold"
  "ramp, β = 5@@$ramp --set neuron.steepness=5"
  "ramp, β = 20@@$ramp --set neuron.steepness=20"
  "OU, τ_u 20 ms, σ 0.4, μ 0.5@@$ou"
  "OU, τ_u 5 ms@@$ou --set drive.ou.tau_ms=5"
  "OU, τ_u 50 ms@@$ou --set drive.ou.tau_ms=50"
  "OU, with reset to 0@@$ou --set neuron.reset=true"
  "Poisson, τ_m 10, τ_s 2, J 4.49@@--set neuron.tau_membrane_ms=10 --set drive.poisson.jump=4.49"
  "Poisson, τ_m 10, τ_s 5, J 2.4@@--set neuron.tau_membrane_ms=10 --set drive.poisson.tau_synapse_ms=5 --set drive.poisson.jump=2.4"
  "Poisson, τ_m 20, τ_s 2, J 7.75@@--set neuron.tau_membrane_ms=20 --set drive.poisson.jump=7.75"
  "Poisson, τ_m 20, τ_s 5, J 3.81@@--set neuron.tau_membrane_ms=20 --set drive.poisson.tau_synapse_ms=5 --set drive.poisson.jump=3.81"
  "Poisson, τ_m 20, τ_s 10, J 2.4@@--set neuron.tau_membrane_ms=20 --set drive.poisson.tau_synapse_ms=10 --set drive.poisson.jump=2.4"
  "Poisson, τ_m 30, τ_s 1, J 20.2@@--set drive.poisson.tau_synapse_ms=1 --set drive.poisson.jump=20.24"
  "**Poisson, τ_m 30, τ_s 2, J 11 (default)**@@"
  "Poisson, τ_m 30, τ_s 5, J 5.15@@--set drive.poisson.tau_synapse_ms=5 --set drive.poisson.jump=5.15"
  "Poisson, τ_m 30, τ_s 10, J 3.12@@--set drive.poisson.tau_synapse_ms=10 --set drive.poisson.jump=3.12"
  "Poisson, τ_m 40, τ_s 2, J 14.05@@--set neuron.tau_membrane_ms=40 --set drive.poisson.jump=14.05"
  "default, PSP peak 0.45 (J 8.2)@@--set drive.poisson.jump=8.2"
  "default, PSP peak 0.75 (J 13.7)@@--set drive.poisson.jump=13.65"
  "default, 20 events/s@@--set drive.poisson.rate_hz=20"
  "default, 40 events/s@@--set drive.poisson.rate_hz=40"
  "default, β = 5@@--set neuron.steepness=5"
  "default, β = 20@@--set neuron.steepness=20"
  "default, ρ_max 100 Hz@@--set neuron.rate_max_hz=100"
  "default, ρ_max 500 Hz@@--set neuron.rate_max_hz=500"
  "default, refractory 2 ms (no reset)@@--set neuron.refractory_ms=2"
  "default, reset to 0@@--set neuron.reset=true"
  "default, LIF (threshold + reset)@@--set neuron.model=threshold --set neuron.reset=true"
  "default, threshold without reset@@--set neuron.model=threshold"
  "default, presynaptic PSP J_pre 5@@--set protocol.pre.weight=5 --set protocol.pre.tau_synapse_ms=2"
  "default, dt 0.05 ms@@--set protocol.dt_ms=0.05"
  "default, dt 0.25 ms@@--set protocol.dt_ms=0.25"
)

echo "| setting | τ₊ (ms) | A₊ | τ₋ (ms) | A₋ | A₊/A₋ | R² (+/−) | r(Bi & Poo) | r(Abarbanel) | r(pair rule, per trial) | paired |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  label=${row%%@@*}
  args=${row#*@@}
  # shellcheck disable=SC2086
  "$bpdl" stdp --seed 1 --out "$out/run" --set protocol.trials=40000 \
    --set protocol.deterministic_trials=0 --set delta_rule.epochs=1 $args > /dev/null
  python3 - "$label" "$out/run/stdp_fit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
f = lambda x, n=1: "n/a" if x is None else f"{x:.{n}f}"
ratio = None if not d["a_plus"] or not d["a_minus"] else d["a_plus"] / d["a_minus"]
print(f"| {sys.argv[1]} | {f(d['tau_plus_ms'])} | {f(d['a_plus'], 4)} | {f(d['tau_minus_ms'])} | "
      f"{f(d['a_minus'], 4)} | {f(ratio, 2)} | {f(d['r_squared_plus'], 2)}/{f(d['r_squared_minus'], 2)} | "
      f"{f(d['correlation_with_bi_poo'], 3)} | {f(d['correlation_with_abarbanel'], 3)} | "
      f"{f(d['correlation_with_pair_rule'], 3)} | {d['paired']} |")
PY
done
