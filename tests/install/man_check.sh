#!/usr/bin/env bash
# The man page (CONTRACT.md "Packaging"): generated from the same tables as --help, current,
# and free of groff and man warnings.
#   man_check.sh <build-dir>
set -euo pipefail
build=$1
man1="$build/start-worker.1"
. "$(dirname "$0")/lib.sh"

check "man page built" "[ -s '$man1' ] && [ -s '$man1.gz' ]"
"$build/sw-gen-docs" man "$tmp/fresh.1"
check "man page is current (the build's equals a fresh rendering)" "cmp -s '$man1' '$tmp/fresh.1'"
check "man page.gz holds the same page" "gzip -dc '$man1.gz' | cmp -s - '$man1'"
groff -man -Tutf8 -ww -z "$man1" 2>"$tmp/groff.err" || true
check "groff -man -Tutf8 -ww: no warnings" "[ ! -s '$tmp/groff.err' ] || { cat '$tmp/groff.err'; false; }"
if command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man --warnings -l "$man1" >"$tmp/man.txt" 2>"$tmp/man.err" || true
  check "man --warnings -l: no warnings" "[ ! -s '$tmp/man.err' ] || { cat '$tmp/man.err'; false; }"
else
  echo "SKIP: man -l (man not installed); groff checked the page"
  groff -man -Tutf8 "$man1" >"$tmp/man.txt" 2>/dev/null
fi
# Rendered text with overstrikes and hyphenation removed, one line per paragraph.
MANWIDTH=1000 MANROFFOPT=-rHY=0 man -l "$man1" 2>/dev/null | col -b >"$tmp/text" ||
  groff -man -Tutf8 -rLL=1000n -rHY=0 "$man1" | col -b >"$tmp/text"
# groff may typeset quotes and hyphens as typographic ones: compare in ASCII.
sed -i "s/[’‘]/'/g; s/[−‐]/-/g" "$tmp/text"
version=$("$build/start-worker" --short-version)
check "the page names version $version" "grep -q 'start-worker $version' '$tmp/text'"
"$build/start-worker" --help >"$tmp/help"
keys_missing_from "$tmp/help" "$tmp/text"
check "every config key of --help is on the page${missing:+ (missing:$missing)}" "[ -z '$missing' ]"
missing=""
while read -r code meaning; do
  meaning=${meaning//\`/}
  grep -qF -- "$meaning" "$tmp/text" || missing="$missing $code"
done < <(awk '/^Exit codes:/{on=1;next} on && /^ +[0-9]+  /{if (l) print l; l=$0; next} on{sub(/^ +/, " "); l=l $0} END{print l}' "$tmp/help")
check "every exit code of --help is on the page with its meaning${missing:+ (missing:$missing)}" "[ -z '$missing' ]"
for opt in --once --validate --help --version --short-version; do
  grep -q -- "$opt" "$tmp/text" || { echo "FAILED: option $opt missing"; fail=1; }
done
finish man
