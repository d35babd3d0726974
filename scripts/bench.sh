#!/usr/bin/env bash
# scripts/bench.sh - `make bench`: measure and record in docs/benchmarks.md.
#
# Ingress: wrk POSTs a signed ~1 KB webhook to `janseva serve --roles http`
# (Redis on a unix socket, AOF everysec, then always); every 200 is a durable
# XADD. Router: N unique webhooks (2 messages + 1 status each) are loaded into
# js:in, then `--roles router` drains them; events/s = 3N / drain time.
# Peers in the same run: redis-benchmark XADD (the storage ceiling) and nginx
# answering a static 200 to the same wrk load (the HTTP ceiling).
# Crypto: tools/cry-bench measures seal/open, blind indexes and signatures on
# one core, generates BENCH_ROTATION_RECORDS sealed member records, and
# `janseva keys rotate` re-encrypts them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build/rel}
bin="$root/$build/janseva"
secs=${BENCH_SECONDS:-10}
n_router=${BENCH_ROUTER_ENTRIES:-20000}
n_rot=${BENCH_ROTATION_RECORDS:-100000}
tmp=$(mktemp -d /tmp/janseva-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
secret=bench-app-secret
port=$(( 20000 + RANDOM % 20000 ))
keys="$tmp/keys"
"$bin" keys init --dir "$keys" >/dev/null 2>&1 || true
[[ -f "$keys/root.key" ]] || { echo "bench: janseva keys init failed" >&2; exit 70; }

start_redis() { # $1 = appendfsync
  rm -rf "$tmp/redis"; mkdir -p "$tmp/redis"
  redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp/redis" --appendonly yes \
    --appendfsync "$1" --save '' --logfile "$tmp/redis.log" &
  redis_pid=$!; pids+=("$redis_pid")
  for _ in $(seq 1 100); do redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "bench: redis did not start" >&2; exit 69
}
stop_redis() { redis-cli -s "$tmp/redis.sock" shutdown nosave >/dev/null 2>&1 || true; wait "$redis_pid" 2>/dev/null || true; }
start_janseva() { # $1 = roles
  JANSEVA_REDIS="unix:$tmp/redis.sock" JANSEVA_APP_SECRET=$secret JANSEVA_VERIFY_TOKEN=v \
  JANSEVA_HTTP_PORT=$port JANSEVA_LOG_LEVEL=warn JANSEVA_INGRESS_MAX_BACKLOG=100000000 \
  JANSEVA_KEYS_DIR="$keys" \
  JANSEVA_ROUTER_THREADS=${BENCH_ROUTER_THREADS:-2} JANSEVA_ROUTER_BATCH=256 \
    "$bin" serve --roles "$1" 2>>"$tmp/janseva.log" &
  app_pid=$!; pids+=("$app_pid")
  if [[ "$1" == router ]]; then sleep 0.1; kill -0 "$app_pid" && return; fi
  for _ in $(seq 1 100); do curl -fs "127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "bench: janseva did not start" >&2; exit 69
}
stop_janseva() { kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; }

body() { # $1 = n: a realistic text webhook with two messages and a status
  printf '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"919431000000","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ramesh Kumar"},"wa_id":"9198%08d"}],"messages":[{"from":"9198%08d","id":"wamid.HBgMOTE5ODAwMDAwMDAxFQIAEhggQjFBMEY3%010d","timestamp":"1763800000","type":"text","text":{"body":"\\u0917\\u093e\\u0901\\u0935 \\u092e\\u0947\\u0902 \\u0915\\u0932 \\u0930\\u093e\\u0924 \\u091a\\u094b\\u0930\\u0940 \\u0939\\u0941\\u0908, \\u0915\\u0943\\u092a\\u092f\\u093e \\u0925\\u093e\\u0928\\u093e \\u0915\\u094b \\u0938\\u0942\\u091a\\u093f\\u0924 \\u0915\\u0930\\u0947\\u0902"}},{"from":"9198%08d","id":"wamid.HBgMOTE5ODAwMDAwMDAxFQIAEhggQjFBMEY4%010d","timestamp":"1763800001","type":"text","text":{"body":"Please send police to the market"}}],"statuses":[{"id":"wamid.HBgMOTE5ODAwMDAwMDAxFQIAERgSQkYz%010d","status":"delivered","timestamp":"1763800002","recipient_id":"9198%08d","pricing":{"billable":false,"pricing_model":"PMP","category":"service"}}]},"field":"messages"}]}]}' "$1" "$1" "$1" "$1" "$1" "$1" "$1"
}

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
results="$tmp/results.md"
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine; commit $commit; \`make bench\` (BENCH_SECONDS=$secs)."
  echo
} >"$results"

# ---- ingress ----
b=$(body 1); sig=$(printf '%s' "$b" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
lua="$tmp/post.lua"
{
  echo 'wrk.method = "POST"'
  printf 'wrk.body = [==[%s]==]\n' "$b"
  echo "wrk.headers[\"X-Hub-Signature-256\"] = \"sha256=$sig\""
  echo 'wrk.headers["Content-Type"] = "application/json"'
  cat <<'LUA'
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, bad))
end
LUA
} >"$lua"
echo "| webhook ingress (wrk, 2 threads, 32 connections, ${#b}-byte signed body) | req/s | p50 ms | p99 ms | max ms | non-200 |" >>"$results"
echo "|---|---|---|---|---|---|" >>"$results"
for mode in everysec always; do
  start_redis "$mode"; start_janseva http
  out=$(wrk -t2 -c32 -d"${secs}s" -s "$lua" "http://127.0.0.1:$port/webhook" | grep RESULT)
  read -r _ rps p50 p99 max bad <<<"$out"
  stored=$(redis-cli -s "$tmp/redis.sock" xlen js:in)
  echo "| janseva POST /webhook → 200 after XADD (appendfsync $mode; $stored stored) | $rps | $p50 | $p99 | $max | $bad |" >>"$results"
  echo "bench: ingress $mode: $rps req/s, p99 $p99 ms"
  stop_janseva; stop_redis
done
# peer: nginx returning 200 for the same load (HTTP ceiling without any work)
if command -v nginx >/dev/null; then
  mkdir -p "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<NGINX
worker_processes 2; pid $tmp/nginx/nginx.pid; error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $tmp/nginx; client_max_body_size 4m;
  server { listen 127.0.0.1:$((port + 1)); location / { return 200 "ok\n"; } } }
NGINX
  nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" -g 'daemon off;' &
  pids+=($!); sleep 0.5
  out=$(wrk -t2 -c32 -d"${secs}s" -s "$lua" "http://127.0.0.1:$((port + 1))/webhook" | grep RESULT)
  read -r _ rps p50 p99 max bad <<<"$out"
  echo "| peer: nginx 1.22 \`return 200\` (no verification, no storage) | $rps | $p50 | $p99 | $max | $bad |" >>"$results"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
fi
# peer: raw XADD throughput of the same Redis (storage ceiling)
start_redis everysec
xadd=$(redis-benchmark -s "$tmp/redis.sock" -n 200000 -c 32 -P 1 -d 1024 -q xadd js:bench '*' b __data__ 2>/dev/null \
  | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
echo "| peer: redis-benchmark XADD 1 KB, 32 clients, no pipelining | ${xadd:-n/a} | | | | |" >>"$results"
stop_redis
echo >>"$results"

# ---- router drain ----
# Entries are preloaded in the pre-upgrade `raw` format (the router still
# accepts it), so this measures parsing, identity resolution and dedupe.
start_redis everysec
for i in $(seq 1 "$n_router"); do body "$i"; echo; done | awk '{
  printf "*7\r\n$4\r\nXADD\r\n$5\r\njs:in\r\n$1\r\n*\r\n$1\r\nf\r\n$3\r\nraw\r\n$1\r\nb\r\n$%d\r\n%s\r\n", length($0), $0 }' \
  | LC_ALL=C redis-cli -s "$tmp/redis.sock" --pipe >/dev/null
loaded=$(redis-cli -s "$tmp/redis.sock" xlen js:in)
t0=$(date +%s.%N)
start_janseva router
while [[ $(redis-cli -s "$tmp/redis.sock" xlen js:in) -gt 0 ]]; do sleep 0.05; done
t1=$(date +%s.%N)
events=$(redis-cli -s "$tmp/redis.sock" eval "return #redis.call('keys','js:seen:*')" 0)
stop_janseva
drain=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
echo "| router drain (${BENCH_ROUTER_THREADS:-2} threads, batch 256) | entries | events handled | seconds | events/s |" >>"$results"
echo "|---|---|---|---|---|" >>"$results"
printf '| %s unique webhooks, 2 messages + 1 status each, preloaded | %s | %s | %.2f | %.0f |\n' \
  "$n_router" "$loaded" "$events" "$drain" "$(awk -v e="$events" -v d="$drain" 'BEGIN{print e / d}')" >>"$results"
stop_redis
echo "bench: router: $events events in ${drain}s"

# ---- crypto ----
cresults="$tmp/crypto.md"
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine; commit $commit; \`make bench\`."
  echo
  echo "| operation (tools/cry-bench, one core) | per second |"
  echo "|---|---|"
  "$root/$build/cry-bench" primitives | while read -r _ name v; do echo "| $name | $v |"; done
} >"$cresults"
bidx=$(grep '| bidx_wa |' "$cresults" | cut -d'|' -f3 | tr -d ' ')
echo "| → all 4×10⁹ Indian mobile numbers through the blind index, one core | $(awk -v r="$bidx" 'BEGIN{printf "%.0f min", 4e9 / r / 60}') |" >>"$cresults"
start_redis everysec
gen=$(JANSEVA_REDIS="unix:$tmp/redis.sock" JANSEVA_KEYS_DIR="$keys" "$root/$build/cry-bench" generate "$n_rot" | cut -d' ' -f3)
rot=$(JANSEVA_REDIS="unix:$tmp/redis.sock" JANSEVA_KEYS_DIR="$keys" JANSEVA_LOG_LEVEL=warn "$bin" keys rotate 2>/dev/null | grep 'rotation done')
rot_total=$(sed -n 's/.*re-encrypted in \([0-9.]*\) s.*/\1/p' <<<"$rot")
rot_rate=$(sed -n 's/.*; \([0-9]*\) records\/s while scanning.*/\1/p' <<<"$rot")
{
  echo
  echo "| key rotation (\`janseva keys rotate\`, no service running) | records | per second | total s |"
  echo "|---|---|---|---|"
  echo "| generate sealed member records (cry-bench generate, one pipeline) | $n_rot | $gen | |"
  echo "| re-encrypt every record to the new version (records/s while scanning; total incl. the 6 s settle wait and a check pass) | $n_rot | $rot_rate | $rot_total |"
} >>"$cresults"
stop_redis
echo "bench: rotation: $rot"

# ---- record ----
doc="$root/docs/benchmarks.md"
record() { # $1 = marker, $2 = results file
  awk -v res="$2" -v m="$1" '
    BEGIN { while ((getline l < res) > 0) r = r l "\n" }
    $0 == "<!-- bench:" m ":begin -->" { print; printf "%s", r; skip = 1; next }
    $0 == "<!-- bench:" m ":end -->" { skip = 0 }
    !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
}
record ingress "$results"
record crypto "$cresults"
cat "$results" "$cresults"
echo "bench: results written to docs/benchmarks.md"
BUILD="$build" BENCH_SECONDS="$secs" "$root/scripts/bench-cloudsim.sh"
BUILD="$build" "$root/scripts/bench-moderation.sh"
BUILD="$build" BENCH_PACING_SECONDS="${BENCH_PACING_SECONDS:-60}" "$root/scripts/bench-dispatch.sh"
BUILD="$build" "$root/scripts/bench-groups.sh"
BUILD="$build" "$root/scripts/bench-posts.sh"
