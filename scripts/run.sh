#!/usr/bin/env bash
# scripts/run.sh - what `make run` does after building: start janseva in
# sandbox mode with everything private under ./var/.
#
#  - settings: var/janseva.conf, created once with random sandbox secrets
#    (kept between runs); your own JANSEVA_* environment still wins.
#  - Redis: unless JANSEVA_REDIS is set, a private redis-server on the unix
#    socket var/redis.sock, AOF on, default user disabled, an ACL user
#    `janseva` limited to the js:* keys.
#    The sample hierarchy in data/sample-hierarchy/ is imported into it.
#  - keys: var/keys, created once with `janseva keys init` (the service never
#    makes keys by itself); delete it only together with var/redis, whose
#    sealed data it alone can open.
#  - janseva serve in the foreground; Ctrl-C stops both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build/rel}
bin="$root/$build/janseva"
var="$root/var"
mkdir -p "$var/redis"
chmod 700 "$var"

rand() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

conf="$var/janseva.conf"
if [[ ! -f "$conf" ]]; then
  umask 077
  cat >"$conf" <<CONF
# janseva sandbox settings, written by make run on $(date -u +%Y-%m-%d).
# Random secrets for this machine only. Delete this file to start afresh.
mode = sandbox
app_secret = $(rand 16)
verify_token = $(rand 12)
phone_number_id = 100000000000001
redis = unix:$var/redis.sock
redis_user = janseva
redis_password = $(rand 24)
http_port = 8080
keys_dir = $var/keys
CONF
  echo "run: created $conf with fresh sandbox secrets"
fi
val() { sed -n "s/^$1 = //p" "$conf" | tail -1; }
# Settings added by later versions of make run, appended once to an older file.
add_setting() { grep -q "^$1 = " "$conf" || printf '%s = %s\n' "$1" "$2" >>"$conf"; }
sim_port=${JANSEVA_SIM_PORT:-8091}
add_setting access_token "sandbox-$(rand 12)"
add_setting graph_url "http://127.0.0.1:$sim_port/v25.0"
add_setting api_token "$(rand 16)"

redis_pid=""
sim_pid=""
cleanup() {
  for p in $sim_pid $redis_pid; do
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

if [[ -z "${JANSEVA_REDIS:-}" ]]; then
  umask 077
  cat >"$var/users.acl" <<ACL
user default off
user janseva on #$(printf '%s' "$(val redis_password)" | sha256sum | cut -d' ' -f1) ~js:* &* +@all -@dangerous -@admin
ACL
  cat >"$var/redis.conf" <<RCONF
port 0
unixsocket $var/redis.sock
unixsocketperm 700
dir $var/redis
appendonly yes
appendfsync everysec
aclfile $var/users.acl
hash-max-listpack-entries 512
hash-max-listpack-value 4096
daemonize no
logfile $var/redis.log
RCONF
  rm -f "$var/redis.sock"
  redis-server "$var/redis.conf" &
  redis_pid=$!
  for _ in $(seq 1 100); do [[ -S "$var/redis.sock" ]] && break; sleep 0.05; done
  [[ -S "$var/redis.sock" ]] || { echo "run: redis-server did not start (see $var/redis.log)" >&2; exit 69; }
  echo "run: private Redis on unix:$var/redis.sock (AOF in $var/redis, log $var/redis.log)"
  # The sandbox's villages: a small hand-written hierarchy (idempotent upsert).
  for kind in state district thana beat locality; do
    "$bin" import --config "$conf" --kind "$kind" "$root/data/sample-hierarchy/$kind.csv" \
      | sed 's/^/run: sample hierarchy: /'
  done
fi

keys_dir=${JANSEVA_KEYS_DIR:-$(val keys_dir)}
if [[ -n "$keys_dir" && ! -e "$keys_dir" ]]; then
  echo "run: no key directory yet: creating sandbox keys in $keys_dir (janseva keys init)"
  "$bin" keys init --config "$conf" --dir "$keys_dir"
fi
if [[ -z "${JANSEVA_REDIS:-}" ]]; then
  # Sample officers (their numbers are sealed with the keys, so after them).
  "$bin" import --config "$conf" --kind officer "$root/data/sample-hierarchy/officer.csv" \
    | sed 's/^/run: sample officers: /'
fi

port=${JANSEVA_HTTP_PORT:-$(val http_port)}
# The local WhatsApp Cloud API simulator: janseva sends to it, it answers like
# Meta and posts signed status webhooks back (docs/cloudsim.md).
"$root/$build/cloudsim" --port "$sim_port" --app-secret "$(val app_secret)" \
  --token "$(val access_token)" --phone-number-id "$(val phone_number_id)" \
  --webhook-url "http://127.0.0.1:$port/webhook" --templates "$root/data/sandbox/templates.json" \
  --status-delay-ms 500 >"$var/cloudsim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do grep -q "^listening" "$var/cloudsim.log" 2>/dev/null && break; sleep 0.05; done
grep -q "^listening" "$var/cloudsim.log" || { echo "run: cloudsim did not start (see $var/cloudsim.log)" >&2; exit 69; }
echo "run: WhatsApp Cloud API simulator on http://127.0.0.1:$sim_port (log $var/cloudsim.log)"
cat <<MSG

  janseva sandbox — nothing is sent to WhatsApp; settings in var/janseva.conf,
  keys in var/keys ($build/janseva keys status --config var/janseva.conf)

    health      http://127.0.0.1:$port/healthz
    readiness   http://127.0.0.1:$port/readyz
    metrics     http://127.0.0.1:$port/metrics
    webhook     http://127.0.0.1:$port/webhook   (Meta's callback URL, behind TLS)

  Play a citizen writing to the police number (the simulator signs it like Meta):
    curl -s -XPOST 127.0.0.1:$sim_port/_sim/inbound \\
         -d '{"from":"919800000001","name":"Ramesh","text":"नमस्ते"}'
  Send a message to that citizen and watch it being delivered and read:
    $build/janseva send --config var/janseva.conf --to 919800000001 --text "नमस्ते" --wait 10
  What the simulator received:   curl -s '127.0.0.1:$sim_port/_sim/sends?limit=5'
  Or post a raw signed webhook:  scripts/post-webhook.sh "गाँव में चोरी हुई है"
  An officer's alert (preview, then confirm; docs/broadcasts.md):
    $build/janseva broadcast create --config var/janseva.conf --officer SHO-DNP --text "…"
  The dashboard API:  curl -H "Authorization: Bearer \$(sed -n 's/^api_token = //p' var/janseva.conf)" \\
                           127.0.0.1:$port/api/units/PAT-DNP/reach

  Ctrl-C stops the service, the simulator and the private Redis.

MSG
"$bin" serve --config "$conf" || rc=$?
exit "${rc:-0}"
