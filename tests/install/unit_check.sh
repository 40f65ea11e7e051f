#!/usr/bin/env bash
# The systemd unit (CONTRACT.md "systemd", "Exit codes"): RestartPreventExitStatus= comes from
# the exit-code table, and `systemd-analyze verify` accepts the unit. When systemd-analyze
# cannot run here at all, the test says SKIP and exits 77 (ctest shows it as skipped).
#   unit_check.sh <build-dir>
set -euo pipefail
build=$1
unit_in="$build/units/start-worker.service.in"
. "$(dirname "$0")/lib.sh"

check "unit generated" "[ -s '$unit_in' ]"
check "no placeholder but @BINDIR@ left" "! grep -v '@BINDIR@' '$unit_in' | grep -q '@[A-Z_]*@'"
expected=$("$build/sw-gen-docs" restart-prevent-exit-status)
check "RestartPreventExitStatus= is the table's list ($expected)" "grep -qx 'RestartPreventExitStatus=$expected' '$unit_in'"
# The list against --help's exit-code table: a restart cannot fix bad usage, a refusal or an
# invalid config, and must not undo a deliberate stop; it can help after 1, 69 and 70.
codes=" $expected "
for c in 3 4 64 77 78; do
  check "exit $c prevents a restart" "[[ '$codes' == *' $c '* ]]"
done
for c in 0 1 69 70; do
  check "exit $c does not prevent a restart" "[[ '$codes' != *' $c '* ]]"
done
for c in $expected; do
  check "exit $c is documented in --help" "'$build/start-worker' --help | grep -qE '^ +$c  '"
done
check "the unit is Type=notify, NotifyAccess=main, with a watchdog" "grep -qx 'Type=notify' '$unit_in' && grep -qx 'NotifyAccess=main' '$unit_in' && grep -q '^WatchdogSec=' '$unit_in'"
check "no sandboxing that breaks workers (ProtectSystem, PrivateTmp, PrivateDevices, ProtectClock, NoNewPrivileges)" \
  "! grep -qE '^(ProtectSystem|PrivateTmp|PrivateDevices|ProtectClock|NoNewPrivileges|ProtectHome|DevicePolicy)=' '$unit_in'"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (scripts/setup installs systemd)"
  exit 77
fi
# First a trivial unit: if even that fails, systemd-analyze cannot run here (no systemd at all).
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$tmp/sw-probe.service"
if ! SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no "$tmp/sw-probe.service" >"$tmp/probe.out" 2>&1; then
  echo "SKIP: systemd-analyze verify cannot run here:"
  sed 's/^/  /' "$tmp/probe.out"
  [ "$fail" = 0 ] || exit 1
  exit 77
fi
# The unit as installed, naming the built binary.
sed "s|@BINDIR@|$(cd "$build" && pwd)|" "$unit_in" >"$tmp/start-worker.service"
if systemd-analyze verify --man=no "$tmp/start-worker.service" >"$tmp/verify.out" 2>&1 && [ ! -s "$tmp/verify.out" ]; then
  echo "ok: systemd-analyze verify accepts the unit"
else
  echo "FAILED: systemd-analyze verify:"
  sed 's/^/  /' "$tmp/verify.out"
  fail=1
fi
finish unit
