#!/usr/bin/env bash
# The Linux release binary runs on a bare Debian 12 root file system (issue 15): `ldd` lists
# only glibc's own libraries, and inside a `debootstrap --variant=minbase bookworm` root with no
# package added, `start-worker --help` and `start-worker --validate <example config>` succeed.
#
#   tests/release/minbase.sh [binary] [config]
#     binary  default build/start-worker (the release's is dist/start-worker-<v>-linux-amd64)
#     config  default units/examples/standalone-dummy.json
#
# The root is made once into ${XDG_CACHE_HOME:-$HOME/.cache}/start-worker-minbase and reused
# (measured on the project's machine: 69 s and 206 MB the first time; the whole check 0.3 s
# cached; it prints its own figures). Needs root (debootstrap, chroot) and a Debian archive the
# first time: MINBASE_MIRROR, by default the archive apt uses for bookworm here.
# Without root it exits 77 (SKIP).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$src/build/start-worker}
config=${2:-$src/units/examples/standalone-dummy.json}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/start-worker-minbase
# The Debian archive this machine's apt already uses for bookworm (apt's own view of its sources,
# both formats, so no host name is written here); MINBASE_MIRROR overrides it.
mirror=${MINBASE_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
  awk '$2 == "bookworm" && $3 == "deb" {print $1; exit}' || true)}

say() { echo "minbase: $*"; }
fail=0
check() {  # check <description> <command>
  if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi
}

[ -x "$bin" ] || { say "no executable $bin (build it first)"; exit 1; }
[ -f "$config" ] || { say "no config $config"; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: minbase.sh needs root for debootstrap and chroot"
  exit 77
fi

# 1. Static except for glibc: every library ldd names is one of glibc's own.
glibc='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|ld-linux-x86-64\.so\.2|/lib64/ld-linux-x86-64\.so\.2)$'
others=$(ldd "$bin" | awk '{print $1}' | grep -Ev "$glibc" || true)
check "ldd $(basename "$bin") lists only glibc's libraries${others:+ (also: $(echo $others))}" "[ -z '$others' ]"
[ -z "$others" ] || say "link the dependencies statically: CMake's SW_STATIC_LINK (default ON) with scripts/static-deps"

# 2. The bare Debian 12 root, made once.
if [ ! -f "$cache/.complete" ]; then
  [ -n "$mirror" ] || { say "no bookworm archive in this machine's apt sources: set MINBASE_MIRROR"; exit 1; }
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  }
  say "debootstrap --variant=minbase bookworm $cache (once)"
  rm -rf "$cache.tmp"
  mkdir -p "$(dirname "$cache")"
  start=$(date +%s)
  if ! debootstrap --variant=minbase bookworm "$cache.tmp" "$mirror" >"$cache.log" 2>&1; then
    tail -20 "$cache.log"
    say "debootstrap failed (log: $cache.log)"
    exit 1
  fi
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
  touch "$cache/.complete"
  say "debootstrap took $(( $(date +%s) - start )) s; the root is $(du -sh "$cache" | cut -f1)"
else
  say "using the cached root $cache"
fi

# The root is bare: none of the libraries the program would need if it were linked dynamically.
check "the root has no libssl, libyaml-cpp, libzip or libfmt (nothing added)" \
  "[ -z \"\$(find '$cache/usr/lib' '$cache/lib' -name 'libssl.so*' -o -name 'libyaml-cpp.so*' -o -name 'libzip.so*' -o -name 'libfmt.so*' 2>/dev/null)\" ]"

# 3. Run it inside, from a private directory that is removed afterwards.
inside=$(mktemp -d "$cache/tmp/start-worker-test.XXXXXX")
trap 'rm -rf "$inside"' EXIT
cp "$bin" "$inside/start-worker"
cp "$config" "$inside/$(basename "$config")"
rel=/tmp/$(basename "$inside")
run() { chroot "$cache" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

check "--help exits 0 inside the bare root" "run $rel/start-worker --help >'$inside/help' 2>'$inside/help.err' || { cat '$inside/help.err'; false; }"
check "--help prints the usage with --validate" "grep -q -- '--validate' '$inside/help'"
check "--version inside the bare root is \"start-worker $("$bin" --short-version)\"" \
  "[ \"\$(run $rel/start-worker --version)\" = 'start-worker $("$bin" --short-version)' ]"
check "--validate $(basename "$config") exits 0 inside the bare root" \
  "run $rel/start-worker --validate $rel/$(basename "$config") >'$inside/validated' 2>'$inside/validate.err' || { cat '$inside/validate.err'; false; }"
check "--validate prints the normalized config (provider)" "grep -q 'provider' '$inside/validated'"
check "--validate of a broken config exits 78 inside the bare root" \
  "printf 'provider: [\\n' >'$inside/broken.yml'; rc=0; run $rel/start-worker --validate $rel/broken.yml >/dev/null 2>&1 || rc=\$?; [ \$rc = 78 ] || { echo \"  exit \$rc\"; false; }"

if [ "$fail" = 0 ]; then say "PASSED"; else say "FAILED"; exit 1; fi
