#!/usr/bin/env bash
# The platform seam (README "Layout"): every OS call lives in platform/ (platform/posix and
# platform/windows); daemon/, lib/ and state/ call only platform/ functions. Fails naming the file
# and line of each breach in those three directories:
#   1. an OS header: #include <windows.h>, <unistd.h>, <sys/...>, <fcntl.h>, ... (the C and C++
#      standard headers, <csignal> or <cerrno> for example, are fine);
#   2. a platform/posix/ or platform/windows/ header that itself includes an OS header (it would
#      bring Win32 or POSIX in all the same; platform/windows/service_host.hpp, for one, does not);
#   3. a call in the global namespace, `::Name(` (how Win32 and POSIX calls are spelt here).
#   seam_check.sh <source-dir>     check the tree
#   seam_check.sh --self-test      plant one breach of each kind in a scratch tree and require
#                                  that each is reported (so that the check can fail)
set -euo pipefail

os_header='^(windows|winsock2?|ws2tcpip|ws2def|mswsock|winternl|winbase|winnt|winuser|winsvc|winreg|wincrypt|winerror|winioctl|ntstatus|ntdef|tlhelp32|sddl|aclapi|accctrl|shlobj|shellapi|shlwapi|userenv|wtsapi32|lmcons|lm|psapi|bcrypt|ncrypt|iphlpapi|objbase|combaseapi|io|direct|process|conio|unistd|fcntl|poll|pwd|grp|dlfcn|termios|netdb|dirent|spawn|syslog|pthread|semaphore|sched|utmpx?|paths|ifaddrs|err|libgen|glob|fnmatch|wordexp|ftw|getopt|shadow|crypt|mqueue|aio|sysexits)\.h$|^(sys|netinet|arpa|net|linux|asm|mach|systemd|security)/'

# check <source-dir>: prints each breach, returns 1 if there is one.
check() {
  local src=$1 fail=0 file line hdr target
  [ -d "$src/daemon" ] && [ -d "$src/lib" ] && [ -d "$src/state" ] ||
    { echo "seam_check: $src has no daemon/, lib/ and state/" >&2; return 2; }
  while IFS= read -r file; do
    # 1 and 2: includes.
    while IFS=: read -r line hdr; do
      if [[ $hdr =~ ^\<([^>]+)\> ]]; then
        if [[ ${BASH_REMATCH[1]} =~ $os_header ]]; then
          echo "FAILED: ${file#"$src"/}:$line includes the OS header $hdr: move the call behind platform/"
          fail=1
        fi
      elif [[ $hdr =~ ^\"(platform/(posix|windows)/[^\"]+)\" ]]; then
        target=$src/${BASH_REMATCH[1]}
        if [ -f "$target" ] && grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$target" |
             sed -E 's/^[^<]*<([^>]+)>.*/\1/' | grep -Eq "$os_header"; then
          echo "FAILED: ${file#"$src"/}:$line includes ${BASH_REMATCH[1]}, which includes an OS header: include a header without one (platform/*.hpp, platform/windows/service_host.hpp)"
          fail=1
        fi
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" |
             sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*/\1:/')
    # 3: global-namespace calls, outside // comments.
    while IFS=: read -r line hdr; do
      echo "FAILED: ${file#"$src"/}:$line calls into the global namespace (an OS call?): $(echo "$hdr" | sed -E 's/^[[:space:]]+//')"
      fail=1
    done < <(sed -E 's#//.*$##' "$file" | grep -nE '(^|[^A-Za-z0-9_>.:])::[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(' || true)
  done < <(find "$src/daemon" "$src/lib" "$src/state" -type f \
             \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.ipp' -o -name '*.in' \) | sort)
  return $fail
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/daemon" "$tmp/lib/x" "$tmp/state" "$tmp/platform/windows"
  printf '#include <string>\n#include <csignal>\nint f() { return std::raise(2); }\n' >"$tmp/lib/x/clean.cpp"
  printf '#pragma once\n#include <windows.h>\n' >"$tmp/platform/windows/raw.hpp"
  printf '#include <cstdio>\n#include <windows.h>\n' >"$tmp/daemon/service_windows.cpp"
  printf '#include "platform/windows/raw.hpp"\n' >"$tmp/lib/x/indirect.hpp"
  printf '  #include <sys/stat.h>\n' >"$tmp/state/posix.cpp"
  printf 'void g() {\n    ::SetConsoleCtrlHandler(nullptr, 1); // ::Commented(\n}\n' >"$tmp/daemon/call.cpp"
  out=$(check "$tmp") && { echo "FAILED: the planted breaches passed"; exit 1; }
  echo "$out"
  rc=0
  for want in 'daemon/service_windows.cpp:2 includes the OS header <windows.h>' \
               'lib/x/indirect.hpp:1 includes platform/windows/raw.hpp' \
               'state/posix.cpp:1 includes the OS header <sys/stat.h>' \
               'daemon/call.cpp:2 calls into the global namespace'; do
    grep -qF "FAILED: $want" <<<"$out" || { echo "FAILED: not reported: $want"; rc=1; }
  done
  if grep -q 'clean.cpp\|Commented' <<<"$out"; then echo "FAILED: a clean line was reported"; rc=1; fi
  [ "$(grep -c '^FAILED' <<<"$out")" -eq 4 ] || { echo "FAILED: expected exactly 4 findings"; rc=1; }
  [ $rc = 0 ] && echo "seam_check self-test: all 4 planted breaches reported"
  exit $rc
fi

src=${1:?usage: seam_check.sh <source-dir> | --self-test}
n=$(find "$src/daemon" "$src/lib" "$src/state" -type f \( -name '*.cpp' -o -name '*.hpp' \) | wc -l)
if [ "$n" -lt 50 ]; then  # a check of nothing never passes
  echo "seam_check: only $n sources under $src/{daemon,lib,state}" >&2
  exit 1
fi
check "$src"
echo "seam_check: $n sources in daemon/, lib/ and state/ include no OS header and make no global-namespace call"
