#!/usr/bin/env bash
# The README's generated sections are current (CONTRACT.md "Exit codes", "Releases"): the usage
# block is exactly `start-worker --help`, and the configuration reference, exit codes and
# troubleshooting sections are what sw-gen-docs renders from the program's tables today.
#   docs_check.sh <build-dir> <source-dir>
set -euo pipefail
build=$1
src=$2
readme="$src/README.md"
. "$(dirname "$0")/lib.sh"

"$build/start-worker" --help >"$tmp/help"
# The lines between the markers, without the code fence.
sed -n '/^<!-- start-usage -->$/,/^<!-- end-usage -->$/p' "$readme" | sed '1,2d;$d' | sed '$d' >"$tmp/block"
check "README usage block is the output of --help" "cmp -s '$tmp/help' '$tmp/block' || { diff -u '$tmp/help' '$tmp/block' | head -20; false; }"
check "README usage block names this version" "grep -q \"^start-worker $("$build/start-worker" --short-version): \" '$tmp/block'"
check "README generated sections are current" "'$build/sw-gen-docs' check-readme '$readme'"
# Every key --help lists appears in the README's configuration reference.
sed -n '/^<!-- start-config-reference -->$/,/^<!-- end-config-reference -->$/p' "$readme" >"$tmp/ref"
keys_missing_from "$tmp/help" "$tmp/ref"
check "every key of --help is in the configuration reference${missing:+ (missing:$missing)}" "[ -z '$missing' ]"
for code in $(awk '/^Exit codes:/{on=1;next} on && /^ +[0-9]+  /{print $1}' "$tmp/help"); do
  sed -n '/^<!-- start-exit-codes -->$/,/^<!-- end-exit-codes -->$/p' "$readme" | grep -q "^| $code |" || { echo "FAILED: exit code $code missing from the README table"; fail=1; }
done
[ "$fail" = 0 ] || echo "run scripts/gen-docs"
finish docs
