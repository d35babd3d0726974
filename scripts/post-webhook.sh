#!/usr/bin/env bash
# scripts/post-webhook.sh [TEXT] [FROM] - post a signed text-message webhook
# to the sandbox started by `make run`, as Meta would: HMAC-SHA256 over the
# raw body with the sandbox app secret from var/janseva.conf.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
conf="$root/var/janseva.conf"
[[ -f "$conf" ]] || { echo "post-webhook: no $conf; run 'make run' first" >&2; exit 66; }
val() { sed -n "s/^$1 = //p" "$conf" | tail -1; }
text=${1:-"नमस्ते, गाँव में बिजली नहीं है"}
from=${2:-919800000001}
secret=$(val app_secret)
port=${JANSEVA_HTTP_PORT:-$(val http_port)}
id="wamid.sandbox.$(date +%s%N)"
body=$(printf '{"object":"whatsapp_business_account","entry":[{"id":"0","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"910000000000","phone_number_id":"%s"},"contacts":[{"profile":{"name":"Sandbox Citizen"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%s","type":"text","text":{"body":"%s"}}]}}]}]}' \
  "$(val phone_number_id)" "$from" "$from" "$id" "$(date +%s)" "$text")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
curl -sS -w ' (HTTP %{http_code})\n' -H "X-Hub-Signature-256: sha256=$sig" \
  -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$port/webhook"
