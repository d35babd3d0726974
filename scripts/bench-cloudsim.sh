#!/usr/bin/env bash
# scripts/bench-cloudsim.sh - how fast the Cloud API simulator answers, so a
# dispatcher benchmark can show it is not the bottleneck. Called by
# scripts/bench.sh (`make bench`); runs alone too:
#   BUILD=build/rel BENCH_SECONDS=10 scripts/bench-cloudsim.sh
#
# wrk (2 threads, 64 keep-alive connections) POSTs a realistic text send to
# /v25.0/{phone_number_id}/messages with a bearer token:
#   1. accepted sends, limits off, no webhooks (the ceiling of the API);
#   2. the same with status webhooks (sent/delivered/read, duplicates,
#      reordering, batching) posted to nginx, i.e. the full cost per send;
#   3. 100,000 distinct recipients with pair spacing on (recipient tables);
#   4. the 130429 path: a number at 80 mps receiving far more;
# and, as a peer, nginx answering `return 200` to the same load. Results go
# between the bench:cloudsim markers of docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build/rel}
sim="$root/$build/cloudsim"
secs=${BENCH_SECONDS:-10}
tmp=$(mktemp -d /tmp/janseva-bench-cloudsim.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
pnid=106540352242922
[[ -x "$sim" ]] || { echo "bench-cloudsim: $sim not built (make)" >&2; exit 69; }
command -v wrk >/dev/null || { echo "bench-cloudsim: wrk is missing (make deps-bench)" >&2; exit 69; }

start_sim() { # args...: start cloudsim on a free port; sets sim_pid, sim_url
  "$sim" --port 0 --token bench-token --app-secret bench-secret --log-level warn "$@" \
    >"$tmp/sim.out" 2>>"$tmp/sim.log" &
  sim_pid=$!; pids+=("$sim_pid")
  for _ in $(seq 1 200); do
    if grep -q '^listening on ' "$tmp/sim.out" 2>/dev/null; then
      sim_url="http://$(sed -n 's/^listening on //p' "$tmp/sim.out" | head -1)"; return
    fi
    sleep 0.02
  done
  echo "bench-cloudsim: cloudsim did not start" >&2; exit 69
}
stop_sim() { kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; }
counter() { # dotted path into /_sim/counters
  curl -fs "$sim_url/_sim/counters" | python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$1"
}

body='{"messaging_product":"whatsapp","recipient_type":"individual","to":"919800000001","type":"text","text":{"body":"Thana Danapur: please stay indoors tonight, patrol on duty. \u0915\u0943\u092a\u092f\u093e \u0918\u0930 \u092e\u0947\u0902 \u0930\u0939\u0947\u0902","preview_url":false},"biz_opaque_callback_data":"broadcast-42:member-1"}'
done_lua='done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, bad))
end'
{
  echo 'wrk.method = "POST"'
  printf 'wrk.body = [==[%s]==]\n' "$body"
  echo 'wrk.headers["Authorization"] = "Bearer bench-token"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  echo "$done_lua"
} >"$tmp/one.lua"
# 100,000 recipients: requests are built once in init, then cycled
{
  echo 'local reqs = {}'
  echo 'local n = 0'
  echo 'init = function(args)'
  echo '  for i = 1, 100000 do'
  printf '    local b = string.format([==[%s]==], 9198000000000 + i)\n' \
    "$(printf '%s' "$body" | sed 's/"919800000001"/"%d"/')"
  echo '    reqs[i] = wrk.format("POST", nil, {["Authorization"] = "Bearer bench-token", ["Content-Type"] = "application/json"}, b)'
  echo '  end'
  echo 'end'
  echo 'request = function() n = n % 100000 + 1; return reqs[n] end'
  echo "$done_lua"
} >"$tmp/many.lua"

run_wrk() { # lua url -> "rps p50 p99 max bad"
  wrk -t2 -c64 -d"${secs}s" -s "$1" "$2" | sed -n 's/^RESULT //p'
}

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
results="$tmp/results.md"
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine; commit $commit; \`scripts/bench-cloudsim.sh\` (BENCH_SECONDS=$secs)."
  echo
  echo "| cloudsim, wrk 2 threads, 64 connections, ${#body}-byte text send | req/s | p50 ms | p99 ms | max ms | non-200 | notes |"
  echo "|---|---|---|---|---|---|---|"
} >"$results"
api="/v25.0/$pnid/messages"

# nginx: the webhook receiver of row 2 and the HTTP peer
nginx_port=""
if command -v nginx >/dev/null; then
  mkdir -p "$tmp/nginx"
  nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$tmp/nginx/nginx.conf" <<NGINX
worker_processes 1; pid $tmp/nginx/nginx.pid; error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $tmp/nginx; client_max_body_size 4m;
  server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok\n"; } } }
NGINX
  nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" -g 'daemon off;' &
  pids+=($!); sleep 0.5
fi

# 1. the API alone
start_sim --mps 100000000 --pair-spacing-ms 0 --window-hours 0
read -r rps p50 p99 max bad <<<"$(run_wrk "$tmp/one.lua" "$sim_url$api")"
acc=$(counter accepted)
echo "| accepted sends, limits off, no webhooks | $rps | $p50 | $p99 | $max | $bad | $acc accepted |" >>"$results"
echo "bench-cloudsim: API alone: $rps req/s"
stop_sim

# 2. with status webhooks to nginx
if [[ -n "$nginx_port" ]]; then
  start_sim --mps 100000000 --pair-spacing-ms 0 --window-hours 0 --status-delay-ms 50 \
    --webhook-url "http://127.0.0.1:$nginx_port/webhook" --seed 1
  read -r rps p50 p99 max bad <<<"$(run_wrk "$tmp/one.lua" "$sim_url$api")"
  sleep 1
  st=$(( $(counter statuses.sent) + $(counter statuses.delivered) + $(counter statuses.read) + $(counter statuses.duplicates) ))
  posts=$(counter webhooks.ok); failed=$(counter webhooks.failed); queued=$(counter webhooks.queue.queued)
  echo "| accepted sends + signed status webhooks to nginx | $rps | $p50 | $p99 | $max | $bad | $st statuses in $posts POSTs ($(( st / (secs + 1) ))/s), $failed failed, $queued still queued 1 s after |" >>"$results"
  echo "bench-cloudsim: with webhooks: $rps req/s, $st statuses"
  stop_sim
fi

# 3. many recipients, pair spacing on
start_sim --mps 100000000 --pair-spacing-ms 6000 --window-hours 24
read -r rps p50 p99 max bad <<<"$(run_wrk "$tmp/many.lua" "$sim_url$api")"
p131056=$(counter rejected)
echo "| 100,000 recipients cycled, pair spacing 6 s, window checked | $rps | $p50 | $p99 | $max | $bad | non-200 = 131056 for recipients seen < 6 s ago ($(counter recipients) recipient entries) |" >>"$results"
echo "bench-cloudsim: many recipients: $rps req/s ($p131056 rejected)"
stop_sim

# 4. throttled number
start_sim --mps 80 --pair-spacing-ms 0 --window-hours 0
read -r rps p50 p99 max bad <<<"$(run_wrk "$tmp/one.lua" "$sim_url$api")"
acc=$(counter accepted); thr=$(counter by_code.130429)
echo "| one number at --mps 80 flooded: 130429 answers | $rps | $p50 | $p99 | $max | $bad | $acc accepted (bucket of 80 + 80/s for ${secs} s = $(( 80 + 80 * secs ))), $thr x 130429 |" >>"$results"
echo "bench-cloudsim: throttled: $rps req/s, $acc accepted"
stop_sim

# peer: nginx return 200 under the same load
if [[ -n "$nginx_port" ]]; then
  read -r rps p50 p99 max bad <<<"$(run_wrk "$tmp/one.lua" "http://127.0.0.1:$nginx_port$api")"
  echo "| peer: nginx \`return 200\`, 1 worker (no parsing, no state) | $rps | $p50 | $p99 | $max | $bad | |" >>"$results"
fi

doc="$root/docs/benchmarks.md"
awk -v res="$results" '
  BEGIN { while ((getline l < res) > 0) r = r l "\n" }
  /<!-- bench:cloudsim:begin -->/ { print; printf "%s", r; skip = 1; next }
  /<!-- bench:cloudsim:end -->/ { skip = 0 }
  !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
cat "$results"
echo "bench-cloudsim: results written to docs/benchmarks.md"
