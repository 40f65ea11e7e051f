#!/usr/bin/env bash
# Two builds of one commit give the same bytes (issue 15): the commit is cloned into two
# directories with different names and depths, each runs `scripts/release --artifacts-only`
# (the release's own build: Release with -g, CPack, objcopy), and the sha256 of every artifact
# (stripped Linux binary, its .debug, the .deb; the Windows .exe and its .debug with
# REPRO_WINDOWS=1) must match. ccache is off, so the compiler really runs twice.
#
#   tests/release/reproducible.sh [--binary-only] [--separate-caches] [commit]
#                     (commit default HEAD; uncommitted changes are not seen)
#   --binary-only     only the start-worker target and its stripped binary and .debug
#                     (scripts/release --artifacts-only --binary-only: the release's flags; no
#                     sw-gen-docs, no .deb); the .deb's own reproducibility (entries dated
#                     SOURCE_DATE_EPOCH) is checked by tests/install/package_check.sh
#   --separate-caches each build in a fixed directory of its own under
#                     ${XDG_CACHE_HOME:-~/.cache}/start-worker-repro with a ccache of its own
#                     (ccache-a, ccache-b; no base_dir, the directory hashed): neither build can
#                     be served the other's objects, and every object compared was compiled by
#                     an independent compiler run at its own path, so nothing is masked; only
#                     the files that changed since the last run are compiled again (twice)
#   REPRO_WINDOWS=1   also the Windows executable (scripts/build-windows)
#   REPRO_CCACHE=1    let the shared ccache serve the builds (faster, but then one build can be
#                     served the other's objects: it cannot catch a non-deterministic compiler
#                     run)
#   KEEP=1            keep the two clones (their paths are printed)
#   AGAINST=<file>    also compare with a release's SHA256SUMS (e.g. dist/SHA256SUMS of the
#                     release that made the tag): rebuilding the tag gives the released bytes
# Cost: two Release builds from scratch; the script prints each build's wall time and CPU time
# (measured on the project's loaded 2-core machine, all artifacts: 652 s and 388 s, 17 min 20 s
# in all). scripts/test runs it with --binary-only (see README "Releases").
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
binary_only=0 separate=0
while [ $# -gt 0 ]; do
  case $1 in
    --binary-only) binary_only=1 ;;
    --separate-caches) separate=1 ;;
    -*) echo "usage: tests/release/reproducible.sh [--binary-only] [--separate-caches] [commit]" >&2; exit 64 ;;
    *) break ;;
  esac
  shift
done
commit=$(git -C "$src" rev-parse --verify "${1:-HEAD}^{commit}")
say() { echo "reproducible: $*"; }

args=(--artifacts-only)
[ "${REPRO_WINDOWS:-0}" = 1 ] || args+=(--no-windows)
[ "$binary_only" = 0 ] || args=(--artifacts-only --binary-only)
unset SOURCE_DATE_EPOCH  # each build takes it from the commit, as a rebuild of a tag does
if [ "$separate" = 1 ]; then
  work=${XDG_CACHE_HOME:-$HOME/.cache}/start-worker-repro
  mkdir -p "$work"
  unset CCACHE_DISABLE CCACHE_NOHASHDIR CCACHE_BASEDIR
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/sw-repro.XXXXXX")
  [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
  [ "${REPRO_CCACHE:-0}" = 1 ] || export CCACHE_DISABLE=1
fi

dirs=("$work/a/start-worker" "$work/second-build/deeper/src")
caches=("$work/ccache-a" "$work/ccache-b")
for i in 0 1; do
  d=${dirs[$i]}
  rm -rf "$d"
  git clone -q --no-checkout "$src" "$d"
  git -C "$d" checkout -q --detach "$commit"
  start=$(date +%s) cpu0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
  if [ "$separate" = 1 ]; then say "building $commit in $d (its own ccache ${caches[$i]})"; else say "building $commit in $d"; fi
  (
    cd "$d"
    [ "$separate" = 0 ] || export CCACHE_DIR=${caches[$i]}
    scripts/release "${args[@]}"
  ) >"$d.log" 2>&1 ||
    { tail -30 "$d.log"; say "FAILED: the build in $d failed (log: $d.log)"; exit 1; }
  cpu=$(awk -v t="$(getconf CLK_TCK)" -v c0="$cpu0" '{printf "%d", ($14 + $15 + $16 + $17 - c0) / t}' /proc/$$/stat)
  say "built in $(($(date +%s) - start)) s wall, $cpu s CPU"
  if [ "$separate" = 1 ]; then
    CCACHE_DIR=${caches[$i]} ccache -s 2>/dev/null | grep -E '^ *(Hits|Misses|cache hit|cache miss)' | sed 's/^/  ccache: /' || true
  fi
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
# It really was the release's artifacts: the binary (and, unless --binary-only, the .deb) are there.
ls "$a"/start-worker-*-linux-amd64 "$a"/start-worker-*-linux-amd64.debug >/dev/null ||
  { echo "FAILED: no Linux binary or .debug in dist/"; fail=1; }
[ "$binary_only" = 1 ] || ls "$a"/start-worker_*_amd64.deb >/dev/null || { echo "FAILED: no .deb in dist/"; fail=1; }
if [ -n "${AGAINST:-}" ]; then
  against=$(cd "$(dirname "$AGAINST")" && pwd)/$(basename "$AGAINST")
  if (cd "$a" && sha256sum --ignore-missing -c "$against"); then
    echo "ok: the rebuilt artifacts match $AGAINST"
  else
    echo "FAILED: the rebuilt artifacts differ from $AGAINST"; fail=1
  fi
fi
if [ "${KEEP:-0}" = 1 ]; then
  say "kept $work"
elif [ "$separate" = 1 ]; then
  rm -rf "$work/a" "$work/second-build"  # the clones; the two caches stay for the next run
fi
if [ "$fail" = 0 ]; then say "PASSED: two builds of $commit are byte-identical"; else say "FAILED"; exit 1; fi
