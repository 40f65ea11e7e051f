#!/usr/bin/env bash
# Two builds of one commit give the same bytes (issue 15): the commit is cloned into two
# directories with different names and depths, each runs `scripts/release --artifacts-only`
# (the release's own build: Release with -g, CPack, objcopy), and the sha256 of every artifact
# (stripped Linux binary, its .debug, the .deb; the Windows .exe and its .debug with
# REPRO_WINDOWS=1) must match. ccache is off, so the compiler really runs twice.
#
#   tests/release/reproducible.sh [commit]     (default HEAD; uncommitted changes are not seen)
#   REPRO_WINDOWS=1   also the Windows executable (scripts/build-windows)
#   REPRO_CCACHE=1    let ccache serve the builds (faster, but cannot catch a non-deterministic
#                     compiler run)
#   KEEP=1            keep the two clones (their paths are printed)
#   AGAINST=<file>    also compare with a release's SHA256SUMS (e.g. dist/SHA256SUMS of the
#                     release that made the tag): rebuilding the tag gives the released bytes
# Cost: two Release builds from scratch; the script prints each build's wall time (measured on
# the project's loaded 2-core machine: 652 s and 388 s, 17 min 20 s in all).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$src" rev-parse --verify "${1:-HEAD}^{commit}")
work=$(mktemp -d "${TMPDIR:-/tmp}/sw-repro.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
say() { echo "reproducible: $*"; }

args=(--artifacts-only)
[ "${REPRO_WINDOWS:-0}" = 1 ] || args+=(--no-windows)
[ "${REPRO_CCACHE:-0}" = 1 ] || export CCACHE_DISABLE=1
unset SOURCE_DATE_EPOCH  # each build takes it from the commit, as a rebuild of a tag does

dirs=("$work/a/start-worker" "$work/second-build/deeper/src")
for d in "${dirs[@]}"; do
  git clone -q --no-checkout "$src" "$d"
  git -C "$d" checkout -q --detach "$commit"
  start=$(date +%s)
  say "building $commit in $d"
  (cd "$d" && scripts/release "${args[@]}") >"$d.log" 2>&1 ||
    { tail -30 "$d.log"; say "FAILED: the build in $d failed (log: $d.log)"; exit 1; }
  say "built in $(($(date +%s) - start)) s"
done

a=${dirs[0]}/dist b=${dirs[1]}/dist
fail=0
for f in $(cd "$a" && ls); do
  [ "$f" = SHA256SUMS ] && continue
  if [ ! -f "$b/$f" ]; then
    echo "FAILED: $f only in the first build"; fail=1
  elif cmp -s "$a/$f" "$b/$f"; then
    echo "ok: $f identical ($(sha256sum <"$a/$f" | cut -c1-16)...)"
  else
    echo "FAILED: $f differs between the two builds: $(cmp "$a/$f" "$b/$f" 2>&1 | head -1)"; fail=1
  fi
done
[ "$(cd "$a" && ls | wc -l)" = "$(cd "$b" && ls | wc -l)" ] || { echo "FAILED: the two dist/ hold different files"; fail=1; }
# It really was the release's artifacts: the binary and the .deb are there.
ls "$a"/start-worker-*-linux-amd64 "$a"/start-worker_*_amd64.deb >/dev/null ||
  { echo "FAILED: no Linux binary or .deb in dist/"; fail=1; }
if [ -n "${AGAINST:-}" ]; then
  against=$(cd "$(dirname "$AGAINST")" && pwd)/$(basename "$AGAINST")
  if (cd "$a" && sha256sum --ignore-missing -c "$against"); then
    echo "ok: the rebuilt artifacts match $AGAINST"
  else
    echo "FAILED: the rebuilt artifacts differ from $AGAINST"; fail=1
  fi
fi
[ "${KEEP:-0}" = 1 ] && say "kept $work"
if [ "$fail" = 0 ]; then say "PASSED: two builds of $commit are byte-identical"; else say "FAILED"; exit 1; fi
