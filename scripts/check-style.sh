#!/usr/bin/env bash
# scripts/check-style.sh - the machine-checked part of docs/style.md:
# banned functions, tabs, line length, trailing blanks, a purpose comment at
# the top of every C file.
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)
files=$(printf '%s\n' $files | sort -u)
bad=0
report() { echo "style: $1"; bad=1; }
for f in $files; do
  [[ -f "$f" ]] || continue
  # strip string literals and comments crudely before looking for calls
  if grep -nE '(^|[^_a-zA-Z0-9])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets|strncpy)\s*\(' "$f" \
       | grep -vE '^\s*[0-9]+:\s*(\*|/\*)' | grep -v 'check-style: allow' >/tmp/style.$$; then
    while read -r l; do report "$f:$l: banned function (use snprintf/core_buf/core_parse_i64)"; done </tmp/style.$$
  fi
  if grep -nP '\t' "$f" >/tmp/style.$$; then
    report "$f: tab characters (indent with 4 spaces)"
  fi
  # count characters, not bytes (Devanagari is 3 bytes a letter)
  perl -CSD -ne 'chomp; if (length($_) > 100) { print "style: $ARGV:$.: line longer than 100 columns\n"; $bad = 1 } END { exit($bad ? 1 : 0) }' "$f" || bad=1
  if grep -nE ' +$' "$f" >/tmp/style.$$; then
    report "$f: trailing blanks on line(s) $(cut -d: -f1 /tmp/style.$$ | head -5 | tr '\n' ' ')"
  fi
  if ! head -3 "$f" | grep -q '^/\*'; then
    report "$f: must open with a comment saying what the file is for"
  fi
done
rm -f /tmp/style.$$
if [[ $bad -ne 0 ]]; then
  echo "check-style: FAILED"
  exit 1
fi
echo "check-style: ok ($(printf '%s\n' $files | wc -l) files)"
