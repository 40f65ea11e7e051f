#!/usr/bin/env bash
# `cmake --install <build> --prefix P` puts the daemon at P/bin/start-worker and the systemd unit
# at P/lib/systemd/system/ naming that binary (CONTRACT.md, "Build and install").
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi; }
check "binary installed and runs" "[ -x '$prefix/bin/start-worker' ] && '$prefix/bin/start-worker' --short-version >/dev/null"
unit="$prefix/lib/systemd/system/start-worker.service"
check "unit installed" "[ -f '$unit' ]"
check "unit runs the installed binary" "grep -qx 'ExecStart=$prefix/bin/start-worker /etc/start-worker.yml' '$unit'"
check "unit is Type=notify with a watchdog" "grep -qx 'Type=notify' '$unit' && grep -q '^WatchdogSec=' '$unit'"
check "no placeholder left" "! grep -q '@BINDIR@' '$unit'"
if [ "$fail" = 0 ]; then echo "5 passed, 0 failed"; else exit 1; fi
