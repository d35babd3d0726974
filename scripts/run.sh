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

redis_pid=""
cleanup() {
  if [[ -n "$redis_pid" ]] && kill -0 "$redis_pid" 2>/dev/null; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
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

port=${JANSEVA_HTTP_PORT:-$(val http_port)}
cat <<MSG

  janseva sandbox — nothing is sent to WhatsApp; settings in var/janseva.conf,
  keys in var/keys ($build/janseva keys status --config var/janseva.conf)

    health      http://127.0.0.1:$port/healthz
    readiness   http://127.0.0.1:$port/readyz
    metrics     http://127.0.0.1:$port/metrics
    webhook     http://127.0.0.1:$port/webhook   (Meta's callback URL, behind TLS)

  Send a signed test webhook from another terminal:
    scripts/post-webhook.sh "गाँव में चोरी हुई है"

  Ctrl-C stops the service and its private Redis.

MSG
"$bin" serve --config "$conf" || rc=$?
exit "${rc:-0}"
