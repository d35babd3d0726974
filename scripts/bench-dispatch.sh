#!/usr/bin/env bash
# scripts/bench-dispatch.sh - dispatcher benchmarks (issue 4), recorded in
# docs/benchmarks.md between the bench:dispatch markers. Called by
# scripts/bench.sh; BENCH_PACING_SECONDS (default 60) and
# BENCH_CAPACITY_MESSAGES (default 30000) adjust it.
#
#  1. Pacing accuracy: one number at 80 and at 1,000 mps, distinct members,
#     for BENCH_PACING_SECONDS after a 5 s warm-up; achieved rate from the
#     simulator's accepted counter, and the simulator's 130429/131056 counts.
#  2. Capacity with pacing off: messages/s the dispatcher sends to the
#     simulator on loopback, and janseva's CPU seconds per 1,000 messages;
#     beside the simulator's own ceiling (wrk) measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build/rel}
bin="$root/$build/janseva"
secs=${BENCH_PACING_SECONDS:-60}
cap_n=${BENCH_CAPACITY_MESSAGES:-30000}
pnid=106540352242922
token=bench-token
tmp=$(mktemp -d /tmp/janseva-bench-dispatch.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp" --appendonly yes --save '' \
  --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
"$bin" keys init --dir "$tmp/keys" >/dev/null 2>&1

sim_start() { # extra cloudsim args...
  "$root/$build/cloudsim" --port 0 --token "$token" --phone-number-id "$pnid" \
    --status-delay-ms 1000 "$@" >"$tmp/sim.log" 2>&1 &
  sim_pid=$!; pids+=("$sim_pid")
  for _ in $(seq 1 100); do grep -q '^listening' "$tmp/sim.log" && break; sleep 0.05; done
  sim=$(sed -n 's/^listening on //p' "$tmp/sim.log" | head -1)
  curl -fsS -XPOST "http://$sim/_sim/templates" \
    --data-binary @"$root/data/sandbox/templates.json" >/dev/null
}
sim_stop() { kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; }
counter() { curl -fsS "http://$sim/_sim/counters" | sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" | head -1; }
code_count() { curl -fsS "http://$sim/_sim/counters" | sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" | head -1; }
app_start() { # mps
  JANSEVA_REDIS="unix:$tmp/redis.sock" JANSEVA_KEYS_DIR="$tmp/keys" JANSEVA_MODE=sandbox \
  JANSEVA_ACCESS_TOKEN=$token JANSEVA_PHONE_NUMBER_ID=$pnid JANSEVA_GRAPH_URL="http://$sim/v25.0" \
  JANSEVA_DISPATCH_MPS="$1" JANSEVA_DISPATCH_INFLIGHT=128 JANSEVA_LOG_LEVEL=warn \
    "$bin" serve --roles dispatch 2>>"$tmp/janseva.log" &
  app_pid=$!; pids+=("$app_pid")
}
app_stop() { kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / ticks }' ticks="$(getconf CLK_TCK)" "/proc/$1/stat"; }
load() { # count prefix
  "$root/$build/outbox-load" "$tmp/keys" "unix:$tmp/redis.sock" "$pnid" "$1" "$2" >"$tmp/load.log"
}

results="$tmp/results.md"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine; commit $commit; \`scripts/bench-dispatch.sh\` (BENCH_PACING_SECONDS=$secs)."
  echo
  echo "| pacing, one number, distinct members | target mps | achieved mps | error | 130429 | 131056 |"
  echo "|---|---|---|---|---|---|"
} >"$results"

prefix=1
for mps in 80 1000; do
  redis-cli -s "$tmp/redis.sock" flushall >/dev/null
  n=$(( mps * (secs + 10) ))
  load "$n" "$prefix"; prefix=$((prefix + 1))
  echo "bench: pacing $mps mps: $(cat "$tmp/load.log")"
  sim_start --mps "$mps" --pair-spacing-ms 6000
  app_start "$mps"
  sleep 5
  a0=$(counter accepted); t0=$(date +%s.%N)
  sleep "$secs"
  a1=$(counter accepted); t1=$(date +%s.%N)
  got=$(awk -v a="$a0" -v b="$a1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", (b - a) / (e - s) }')
  err=$(awk -v g="$got" -v m="$mps" 'BEGIN { printf "%+.2f %%", (g - m) * 100 / m }')
  c429=$(code_count 130429); c429=${c429:-0}
  c1056=$(code_count 131056); c1056=${c1056:-0}
  echo "| ${secs} s after a 5 s warm-up | $mps | $got | $err | $c429 | $c1056 |" >>"$results"
  echo "bench: pacing $mps mps: achieved $got ($err), 130429: $c429, 131056: $c1056"
  app_stop; sim_stop
done

# capacity: pacing off (token bucket far above what the machine can do)
redis-cli -s "$tmp/redis.sock" flushall >/dev/null
load "$cap_n" 9
sim_start --mps 1000000 --pair-spacing-ms 0
app_start 1000000
start=$(date +%s.%N)
while :; do
  a=$(counter accepted); a=${a:-0}
  [[ "$a" -ge "$cap_n" ]] && break
  sleep 0.1
done
end=$(date +%s.%N)
cpu=$(cpu_s "$app_pid")
app_stop
rate=$(awk -v n="$cap_n" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
per=$(awk -v c="$cpu" -v n="$cap_n" 'BEGIN { printf "%.3f", c * 1000 / n }')
# the simulator's own ceiling, same run, same machine: wrk straight at it
body='{"messaging_product":"whatsapp","to":"917900000001","type":"template","template":{"name":"janseva_notice","language":{"code":"hi"},"components":[{"type":"body","parameters":[{"type":"text","text":"x"}]}]}}'
cat >"$tmp/sim.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
done = function(s, l, r) io.write(string.format("RESULT %.0f\n", s.requests / (s.duration / 1e6))) end
LUA
ceiling=$(wrk -t2 -c64 -d5s -s "$tmp/sim.lua" "http://$sim/v25.0/$pnid/messages" | sed -n 's/^RESULT //p')
sim_stop
{
  echo
  echo "| capacity, pacing off | messages | msg/s | janseva CPU s | CPU s per 1,000 msgs |"
  echo "|---|---|---|---|---|"
  echo "| dispatcher → simulator on loopback (128 in flight) | $cap_n | $rate | $cpu | $per |"
  echo "| simulator's own ceiling, same run (wrk, 64 connections, no janseva) | | $ceiling | | |"
} >>"$results"
echo "bench: capacity: $rate msg/s, $per CPU s per 1000 messages; simulator ceiling $ceiling req/s"

doc="$root/docs/benchmarks.md"
if ! grep -q '<!-- bench:dispatch:begin -->' "$doc"; then
  printf '\n## Dispatcher\n\nPacing accuracy and sending capacity of the `dispatch` role against the simulator\n(docs/dispatch.md). Reproduce with `scripts/bench-dispatch.sh` (also run by `make bench`).\n\n<!-- bench:dispatch:begin -->\n<!-- bench:dispatch:end -->\n' >>"$doc"
fi
awk -v res="$results" '
  BEGIN { while ((getline l < res) > 0) r = r l "\n" }
  /<!-- bench:dispatch:begin -->/ { print; printf "%s", r; skip = 1; next }
  /<!-- bench:dispatch:end -->/ { skip = 0 }
  !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
cat "$results"
