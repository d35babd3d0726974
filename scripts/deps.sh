#!/usr/bin/env bash
# scripts/deps.sh GROUP... - install the Debian 12 packages janseva needs and
# that are missing. Groups: build, test, bench, e2e. Runs apt-get only when
# something is missing (as root, or through sudo).
set -euo pipefail

declare -A pkgs=(
  # compiler, pkg-config and the libraries named in docs/architecture.md
  [build]="gcc make pkg-config openssl curl libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev
           libhiredis-dev libsodium-dev libutf8proc-dev libgfshare-dev redis-server redis-tools"
  # cmocka for tests; clang + its runtime for libFuzzer, LSan and UBSan
  [test]="libcmocka-dev clang libclang-rt-14-dev"
  # load generators and peers measured side by side (time: peak RSS of classify)
  [bench]="wrk nginx-light redis-tools bogofilter time"
  # browser tests
  [e2e]="chromium nodejs npm"
)

want=()
for g in "$@"; do
  [[ -n "${pkgs[$g]:-}" ]] || { echo "deps.sh: unknown group '$g'" >&2; exit 64; }
  for p in ${pkgs[$g]}; do want+=("$p"); done
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 69; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists if they are missing or older than a day.
if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mtime -1 2>/dev/null | head -1)" ]]; then
  $sudo apt-get update -qq
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} package(s)"
