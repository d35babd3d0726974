#!/usr/bin/env bash
# scripts/fuzz.sh FUZZ_BUILD FUZZER... - for each libFuzzer binary
# fuzz_NAME: replay tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME
# (every past crash stays a test), then fuzz for $FUZZ_SECONDS seconds with
# a scratch corpus under FUZZ_BUILD (the committed corpus is never modified).
# A crash fails the run and leaves the input in FUZZ_BUILD/artifacts/.
set -euo pipefail
build=$1; shift
secs=${FUZZ_SECONDS:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
mkdir -p "$build/artifacts"
for bin in "$@"; do
  name=$(basename "$bin"); name=${name#fuzz_}
  seeds="$root/tests/fuzz/corpus/$name"
  regress="$root/tests/fuzz/regressions/$name"
  scratch="$build/corpus-$name"
  mkdir -p "$scratch" "$seeds"
  dict=()
  [[ -f "$root/tests/fuzz/$name.dict" ]] && dict=(-dict="$root/tests/fuzz/$name.dict")
  inputs=("$seeds"/*)
  [[ -d "$regress" ]] && inputs+=("$regress"/*)
  existing=()
  for f in "${inputs[@]}"; do [[ -f "$f" ]] && existing+=("$f"); done
  if [[ ${#existing[@]} -eq 0 ]]; then
    echo "fuzz: $name has no seed corpus in tests/fuzz/corpus/$name" >&2; exit 1
  fi
  echo "fuzz: $name: replaying ${#existing[@]} seed/regression input(s)"
  "$bin" "${dict[@]}" -runs=0 "${existing[@]}" >"$build/$name.replay.log" 2>&1 || {
    cat "$build/$name.replay.log"; echo "fuzz: $name: a committed input fails" >&2; exit 1; }
  echo "fuzz: $name: fuzzing for ${secs}s"
  if ! "$bin" "${dict[@]}" -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -artifact_prefix="$build/artifacts/$name-" -print_final_stats=1 \
        "$scratch" "$seeds" >"$build/$name.log" 2>&1; then
    tail -40 "$build/$name.log"
    echo "fuzz: $name: FAILED (input saved in $build/artifacts/; add it to tests/fuzz/regressions/$name)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$name.log" | sed "s/^/fuzz: $name: /"
done
