# Shared by the install/docs/man/unit/package checks: `check <what> <shell condition>` prints
# ok/FAILED and remembers a failure; `finish <name>` exits 1 if anything failed. $tmp is a
# scratch directory removed on exit.
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi; }
finish() { if [ "$fail" = 0 ]; then echo "$1: all checks passed"; else echo "$1: FAILED"; exit 1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The config keys `start-worker --help` ($1: its output) lists, without the provider and worker
# names that head their sections. Sets $missing to those not found in file $2.
keys_missing_from() {
  missing=""
  local key
  for key in $(awk '/^Runner configuration/{on=1;next} /^Environment:/{on=0}
                    on && (/^  [A-Za-z]/ || /^    [A-Za-z]/){print $1}' "$1" | grep -v ':$' | sort -u); do
    [ "$key" = key ] && continue
    grep -q -- "$key" "$2" || missing="$missing $key"
  done
}
