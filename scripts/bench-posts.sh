#!/usr/bin/env bash
# scripts/bench-posts.sh - webhook-to-relay-enqueued latency of group posts
# (issue 6, "Scale targets": p99 <= 20 ms at 1,000 posts/s), recorded in
# docs/benchmarks.md between the bench:posts markers. Called by
# scripts/bench.sh.
#
# Setup: redis-server (unix socket, AOF everysec), `janseva keys init`, a
# generated hierarchy of BENCH_POSTS_GROUPS localities (default 100) under
# one beat, BENCH_POSTS_MEMBERS synthetic members (default 2000, written by
# tools/groups-load members: active, 30 % inside the 24 h window) spread
# evenly over them, and `janseva serve --roles http,router` (no dispatcher:
# the measured point is the relay entry in the bulk lane js:out:{N}:2).
# Then tools/posts-load sends BENCH_POSTS_RATE (default 1000) signed text
# webhooks per second for BENCH_POSTS_SECONDS (default 20): each post is two
# legit lines of the moderation seed corpus (distinct pairs, so moderation
# relays them and sees no chain) and a reference number; members post in
# turn, 10 times each with the defaults (the flood rule holds a member's
# 21st post of an hour). A reader on the bulk lane opens each entry and
# takes, per post, the time its first relay entry appeared. After the
# router has drained the backlog, the same at BENCH_POSTS_LOW_RATE (default
# 200) for BENCH_POSTS_LOW_SECONDS (default 10): the latency when the
# machine keeps up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build/rel}
bin="$root/$build/janseva"
groups=${BENCH_POSTS_GROUPS:-100}
members=${BENCH_POSTS_MEMBERS:-2000}
rate=${BENCH_POSTS_RATE:-1000}
secs=${BENCH_POSTS_SECONDS:-20}
low=${BENCH_POSTS_LOW_RATE:-200}
low_secs=${BENCH_POSTS_LOW_SECONDS:-10}
threads=${BENCH_ROUTER_THREADS:-2}
pnid=106540352242922
secret=bench-app-secret
port=$(( 20000 + RANDOM % 20000 ))
tmp=$(mktemp -d /tmp/janseva-bench-posts.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

export JANSEVA_REDIS="unix:$tmp/redis.sock" JANSEVA_KEYS_DIR="$tmp/keys" JANSEVA_LOG_LEVEL=warn \
       JANSEVA_PHONE_NUMBER_ID=$pnid JANSEVA_APP_SECRET=$secret
R() { redis-cli -s "$tmp/redis.sock" "$@"; }
mkdir -p "$tmp/redis"
redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp/redis" --appendonly yes \
  --appendfsync everysec --save '' --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do R ping >/dev/null 2>&1 && break; sleep 0.05; done
"$bin" keys init --dir "$tmp/keys" >/dev/null 2>&1
load_before=$(cut -d' ' -f1 /proc/loadavg)

# ---- hierarchy, members ----
h="$tmp/h"; mkdir -p "$h"
echo 'code,name_en,name_hi,lat,lon' >"$h/state.csv"; echo 'BN,Benchland,बेंचलैंड,25.6000,85.1000' >>"$h/state.csv"
echo 'code,parent,name_en,name_hi,lat,lon' >"$h/district.csv"; echo 'BN-D,BN,Bench District,बेंच ज़िला,25.6000,85.1000' >>"$h/district.csv"
echo 'code,parent,name_en,name_hi,lat,lon' >"$h/thana.csv"; echo 'BN-T,BN-D,Bench Thana,बेंच थाना,25.6000,85.1000' >>"$h/thana.csv"
echo 'code,parent,name_en,name_hi,lat,lon' >"$h/beat.csv"; echo 'BN-B,BN-T,Bench Beat,बेंच बीट,25.6000,85.1000' >>"$h/beat.csv"
{
  echo 'code,parent,name_en,name_hi,type,pincode,population,lat,lon'
  for i in $(seq 1 "$groups"); do
    printf 'BN-L%04d,BN-B,Bench Village %d,बेंच गाँव %d,village,800001,,%.4f,85.1000\n' "$i" "$i" "$i" \
      "$(awk -v i="$i" 'BEGIN{printf "%.4f", 25.0 + i / 1000}')"
  done
} >"$h/locality.csv"
for k in state district thana beat locality; do "$bin" import --kind "$k" "$h/$k.csv" >/dev/null; done
gen=$("$root/$build/groups-load" members BN "$members")
echo "bench-posts: $groups groups, $gen"
# texts: legit seed lines without numbers or links (nothing that looks like
# a phone number, so nothing a new member's post is held for)
grep '^legit' "$root/moderation/seed/legit.tsv" | cut -f2 | grep -Pv '[0-9\x{0966}-\x{096F}]|http|www' >"$tmp/texts"

# ---- serve, load ----
JANSEVA_VERIFY_TOKEN=v JANSEVA_HTTP_PORT=$port JANSEVA_ROUTER_THREADS=$threads \
  "$bin" serve --roles http,router 2>>"$tmp/janseva.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
load() { # rate seconds -> RESULT line
  "$root/$build/posts-load" "127.0.0.1:$port" "$pnid" "$members" "$1" "$2" "$tmp/texts" | grep '^RESULT'
}
drain() { # wait until the router has taken every webhook (at most 120 s)
  for _ in $(seq 1 1200); do [[ "$(R xlen js:in)" == 0 ]] && return; sleep 0.1; done
}
t0=$(date +%s.%N)
out=$(load "$rate" "$secs")
drain
t1=$(date +%s.%N)
echo "bench-posts: $rate/s: $out"
read -r _ _ sent _ relayed _ bad _ achieved _ p50 _ p90 _ p99 _ max _ idp50 _ idp99 <<<"$out"
handled=$(awk -v n="$sent" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n / (b - a)}')
# the same at a rate this machine sustains (members post once more each)
out2=$(load "$low" "$low_secs")
drain
echo "bench-posts: $low/s: $out2"
read -r _ _ sent2 _ relayed2 _ bad2 _ achieved2 _ l50 _ l90 _ l99 _ lmax _ _ _ _ <<<"$out2"
verdicts=$(R eval "local n = {relay=0, hold=0, drop=0} local cur = '0'
  repeat local r = redis.call('SCAN', cur, 'MATCH', 'js:post:{*}', 'COUNT', 1000) cur = r[1]
    for _, k in ipairs(r[2]) do local v = redis.call('HGET', k, 'v') if v then n[v] = (n[v] or 0) + 1 end end
  until cur == '0'
  return 'relay ' .. n.relay .. ', hold ' .. n.hold .. ', drop ' .. n.drop" 0)
bulk=$(R xlen "js:out:{$pnid}:2")
echo "bench-posts: verdicts: $verdicts; $bulk relay entries in the bulk lane; $handled posts/s handled"

# ---- record ----
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
results="$tmp/results.md"
ok=$(awk -v v="$p99" 'BEGIN{print (v + 0 <= 20) ? "met" : "**not met**"}')
{
  echo "Measured $(date -u +%Y-%m-%d) on $machine; commit $commit; \`scripts/bench-posts.sh\` (Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), AOF everysec, unix socket; $threads router threads; load average $load_before before the run, $(cut -d' ' -f1 /proc/loadavg) after)."
  echo
  echo "| webhook → first relay entry in the bulk lane; $members members in $groups groups ($((members / groups)) each, so $((members / groups - 1)) relay messages a post) | $rate posts/s for $secs s | $low posts/s for $low_secs s |"
  echo "|---|---|---|"
  echo "| posts sent / with a relay entry within 5 s of the last send / non-200 | $sent / $relayed / $bad | $sent2 / $relayed2 / $bad2 |"
  echo "| achieved posts/s sent | $achieved | $achieved2 |"
  echo "| p50 / p90 / p99 / max ms (reader's clock; posts relayed within the run) | $p50 / $p90 / $p99 / $max | $l50 / $l90 / $l99 / $lmax |"
  echo "| p50 / p99 ms by the entry id's Redis ms time | $idp50 / $idp99 | |"
  echo "| posts/s the router handled (sent / time until js:in was empty) | $handled | |"
  echo "| moderation verdicts of all posts | $verdicts | |"
  echo "| target: p99 ≤ 20 ms at 1,000 posts/s | $ok | |"
} >"$results"
doc="$root/docs/benchmarks.md"
if ! grep -q '<!-- bench:posts:begin -->' "$doc"; then
  printf '\n## Group posts\n\nWebhook-to-relay-enqueued latency (issue 6): signed text webhooks of active members at a\nsteady rate, from the POST to the first relay entry of the post in the bulk lane. Reproduce\nwith `scripts/bench-posts.sh` (also run by `make bench`; `BENCH_POSTS_RATE`,\n`BENCH_POSTS_SECONDS`, `BENCH_POSTS_MEMBERS`, `BENCH_POSTS_GROUPS` adjust it).\n\n<!-- bench:posts:begin -->\n<!-- bench:posts:end -->\n' >>"$doc"
fi
awk -v res="$results" '
  BEGIN { while ((getline l < res) > 0) r = r l "\n" }
  $0 == "<!-- bench:posts:begin -->" { print; printf "%s", r; skip = 1; next }
  $0 == "<!-- bench:posts:end -->" { skip = 0 }
  !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
cat "$results"
echo "bench-posts: results written to docs/benchmarks.md"
