#!/usr/bin/env bash
# scripts/run-tests.sh BUILD_DIR KIND... - run the cmocka test binaries of
# BUILD_DIR/tests/KIND (unit, integration) and print one summary line.
# Environment passed to tests:
#   JANSEVA_TEST_BIN     the janseva binary under test
#   JANSEVA_TEST_BUILD   the build directory (tools live there)
#   JANSEVA_TEST_DATA    ../shared/data when it exists (tests skip loudly otherwise)
# VALGRIND=1 runs each binary under valgrind --leak-check=full.
set -uo pipefail

build=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
export JANSEVA_TEST_BIN="$root/$build/janseva"
export JANSEVA_TEST_BUILD="$root/$build"
if [[ -z "${JANSEVA_TEST_DATA:-}" && -d "$root/../shared/data" ]]; then
  export JANSEVA_TEST_DATA="$root/../shared/data"
fi
# Sanitizers: stop at the first error, report leaks, keep stacks readable.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"

pass=0; fail=0; failed=()
start=$(date +%s)
for kind in "$@"; do
  for t in "$build"/tests/"$kind"/test_*; do
    [[ -x "$t" && ! "$t" == *.o && ! "$t" == *.d ]] || continue
    name="$kind/$(basename "$t")"
    echo "=== $name ($build)"
    t0=$(date +%s)
    if [[ "${VALGRIND:-0}" == 1 ]]; then
      cmd=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "$t")
    else
      cmd=("$t")
    fi
    if timeout 900 "${cmd[@]}"; then
      pass=$((pass + 1)); echo "=== $name: ok ($(( $(date +%s) - t0 ))s)"
    else
      rc=$?; fail=$((fail + 1)); failed+=("$name (exit $rc)")
      echo "=== $name: FAILED (exit $rc)"
    fi
  done
done
echo "=== $build: $pass test program(s) passed, $fail failed in $(( $(date +%s) - start ))s"
if [[ $fail -gt 0 ]]; then
  printf '    failed: %s\n' "${failed[@]}"
  exit 1
fi
[[ $pass -gt 0 ]] || { echo "=== no test programs found in $build" >&2; exit 1; }
