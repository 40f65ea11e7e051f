#!/usr/bin/env bash
# `cmake --install <build> --prefix P` puts the daemon at P/bin/start-worker, the systemd unit
# at P/lib/systemd/system/ naming that binary, and the man page under P/share/man
# (CONTRACT.md, "Build and install"); it never writes a config to /etc.
set -euo pipefail
build=$1
. "$(dirname "$0")/lib.sh"
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
check "binary installed and runs" "[ -x '$prefix/bin/start-worker' ] && '$prefix/bin/start-worker' --short-version >/dev/null"
unit="$prefix/lib/systemd/system/start-worker.service"
check "unit installed" "[ -f '$unit' ]"
check "unit runs the installed binary" "grep -qx 'ExecStart=$prefix/bin/start-worker /etc/start-worker.yml' '$unit'"
check "unit is Type=notify with a watchdog" "grep -qx 'Type=notify' '$unit' && grep -q '^WatchdogSec=' '$unit'"
check "no placeholder left" "! grep -q '@[A-Z_]*@' '$unit'"
if [ -x "$build/sw-gen-docs" ]; then
  check "unit's RestartPreventExitStatus= is the exit-code table's" "grep -qx \"RestartPreventExitStatus=\$('$build/sw-gen-docs' restart-prevent-exit-status)\" '$unit'"
fi
check "man page installed" "gzip -t '$prefix/share/man/man1/start-worker.1.gz'"
check "no config installed (only the .deb ships /etc/start-worker.yml)" "[ -z \"\$(find '$prefix' -name start-worker.yml)\" ]"
finish install
