#!/usr/bin/env bash
# The fuzzing campaign: builds every target with libFuzzer (stable toolchain, no sanitizer) and
# runs each for SECONDS (default 60), one at a time, in one process (no -jobs), from its seed corpus.
#
#   bash fuzz/run.sh [SECONDS]           # release build, the campaign
#   bash fuzz/run.sh --quick [SECONDS]   # CI: a faster-building dev build, default 3 s each
#   TARGETS="idx checkpoint" bash fuzz/run.sh 30
#   RUNS=1000000 bash fuzz/run.sh 900     # stop each target at 10^6 executions (or 900 s)
#
# Prints the executions and exec/s of every target; exits non-zero if any crashes, hangs
# (-timeout), or breaks the allocation bound (src/lib.rs aborts; libFuzzer saves the input
# under fuzz/artifacts/<target>/). New corpus entries go to fuzz/corpus-work/<target>/
# (git-ignored); the committed seeds in fuzz/corpus/<target>/ are only read.
#
# The build passes rustc the flags `cargo fuzz build --sanitizer none` passes (cargo-fuzz
# 0.13), so neither cargo-fuzz nor a nightly toolchain is needed; with cargo-fuzz installed,
# `cargo fuzz run --sanitizer none <target> fuzz/corpus/<target>` runs the same binary.
set -euo pipefail
cd "$(dirname "$0")"

profile=release
if [ "${1:-}" = "--quick" ]; then
  profile=dev
  shift
fi
seconds=${1:-$([ "$profile" = dev ] && echo 3 || echo 60)}
targets=${TARGETS:-"idx idx_gz config_toml config_override checkpoint samples_file metrics_jsonl run_json results_json"}

triple=$(rustc -vV | sed -n 's/^host: //p')
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth"
flags+=" --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cdebug-assertions"
[ "$profile" = release ] && flags+=" -Ccodegen-units=1"
# a target folder of its own: these flags must not mix with the workspace's builds
export CARGO_TARGET_DIR="$PWD/target"
build_start=$(date +%s)
profile_flag=$([ "$profile" = release ] && echo --release || echo "")
# shellcheck disable=SC2086
RUSTFLAGS="$flags" cargo build --quiet --locked $profile_flag --target "$triple" --bins
echo "built the fuzz targets ($profile) in $(( $(date +%s) - build_start )) s"
bin_dir="$CARGO_TARGET_DIR/$triple/$([ "$profile" = release ] && echo release || echo debug)"

# the per-target input limits: checkpoints and samples files are larger than text
max_len() {
  case "$1" in
    checkpoint|samples_file) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

failed=0
printf '\n%-16s %12s %10s %8s %s\n' target executions exec/s seconds result
for t in $targets; do
  mkdir -p "corpus-work/$t" "artifacts/$t"
  log="artifacts/$t/fuzz.log"
  start=$(date +%s)
  rc=0
  # shellcheck disable=SC2046
  "$bin_dir/$t" "corpus-work/$t" "corpus/$t" $([ -n "${RUNS:-}" ] && echo "-runs=$RUNS") \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc): see fuzz/$log"
    failed=1
    grep -E "panicked|ERROR|==bpdl-fuzz==|Test unit written" "$log" | head -5 || true
  fi
  printf '%-16s %12s %10s %8s %s\n' "$t" "${runs:-?}" "${speed:-?}" "$took" "$result"
done
exit "$failed"
