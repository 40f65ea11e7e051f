#!/usr/bin/env bash
# The .deb (CONTRACT.md "Packaging"): `cmake --build <build> --target package` leaves
# <build>/start-worker_<version>_<arch>.deb with the contract's files and modes, the example
# config as a conffile, no maintainer scripts (installing starts nothing), and a binary that
# validates the packaged config once installed into a throwaway root (dpkg --root).
#   package_check.sh <build-dir>
set -euo pipefail
build=$(cd "$1" && pwd)
. "$(dirname "$0")/lib.sh"

for tool in dpkg dpkg-deb; do
  command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed (not a Debian system)"; exit 77; }
done
version=$("$build/start-worker" --short-version)
arch=$(dpkg --print-architecture)
deb="$build/start-worker_${version}_${arch}.deb"
rm -f "$deb"
# What `cmake --build <build> --target package` runs once everything is built (ctest runs
# after the build, so the test does not build again).
# SOURCE_DATE_EPOCH (as scripts/release sets it) dates every entry, so two builds of one commit
# give the same bytes.
export SOURCE_DATE_EPOCH=1700000000 TZ=UTC
(cd "$build" && cpack --config CPackConfig.cmake) >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; echo "FAILED: cpack"; exit 1; }
check "package target leaves $(basename "$deb")" "[ -s '$deb' ]"
[ -s "$deb" ] || exit 1

dpkg-deb -c "$deb" >"$tmp/contents"
entry() { grep -E " \\./$1\$" "$tmp/contents"; }
check_file() {  # path, mode
  local line
  line=$(entry "$1" || true)
  check "/$1 is in the package with mode $2, owned by root" "[[ '$line' == $2\\ root/root* ]] || { echo '  got: ${line:-nothing}'; false; }"
}
check_file usr/bin/start-worker -rwxr-xr-x
check_file lib/systemd/system/start-worker.service -rw-r--r--
check_file usr/share/man/man1/start-worker.1.gz -rw-r--r--
check_file etc/start-worker.yml -rw-------
check_file usr/share/doc/start-worker/copyright -rw-r--r--
check "every entry dated SOURCE_DATE_EPOCH (reproducible)" "[ -z \"\$(grep -v ' 2023-11-14 22:13 ' '$tmp/contents')\" ] || { grep -v ' 2023-11-14 22:13 ' '$tmp/contents' | head -3; false; }"
check "no file under /usr/local or /usr/lib/systemd" "! grep -qE ' \\./usr/(local|lib/systemd)/' '$tmp/contents'"

dpkg-deb -I "$deb" >"$tmp/info"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: start-worker" "[ \"\$(field Package)\" = start-worker ]"
check "Version: $version (from project(VERSION))" "[ \"\$(field Version)\" = '$version' ]"
check "Architecture: $arch" "[ \"\$(field Architecture)\" = '$arch' ]"
check "a description and a maintainer" "[ -n \"\$(field Description)\" ] && [ -n \"\$(field Maintainer)\" ]"
# One maintainers address: the control file's Maintainer is the copyright file's Upstream-Contact.
contact=$(sed -n 's/^Upstream-Contact: //p' "$(dirname "$0")/../../units/copyright")
check "Maintainer is units/copyright's Upstream-Contact ($contact)" "[ -n '$contact' ] && [ \"\$(field Maintainer)\" = '$contact' ]"
check "the packaged copyright file is units/copyright" "dpkg-deb --fsys-tarfile '$deb' | tar -xO ./usr/share/doc/start-worker/copyright | cmp -s - '$(dirname "$0")/../../units/copyright'"
dpkg-deb --ctrl-tarfile "$deb" | tar -t >"$tmp/control-files"
check "/etc/start-worker.yml is a conffile" "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/start-worker.yml"
check "no maintainer scripts: installing starts and enables nothing" "! grep -qE '(pre|post)(inst|rm)$' '$tmp/control-files'"

# Installed with dpkg into a throwaway root (no maintainer scripts run; the libraries it depends
# on are the host's, so dependencies are not checked there).
root="$tmp/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
check "dpkg --root installs it" "dpkg --root='$root' --force-depends --force-script-chrootless -i '$deb' >'$tmp/dpkg.log' 2>&1 || { cat '$tmp/dpkg.log'; false; }"
check "dpkg registered it, with /etc/start-worker.yml as a conffile" "dpkg --root='$root' -s start-worker 2>/dev/null | grep -q '^Status: install ok installed' && dpkg --root='$root' -s start-worker | grep -q '^ /etc/start-worker.yml '"
check "installed /etc/start-worker.yml is mode 0600" "[ \"\$(stat -c %a '$root/etc/start-worker.yml')\" = 600 ]"
check "installed binary reports version $version" "[ \"\$('$root/usr/bin/start-worker' --short-version)\" = '$version' ]"
check "start-worker --validate accepts the packaged /etc/start-worker.yml" \
  "'$root/usr/bin/start-worker' --validate '$root/etc/start-worker.yml' >'$tmp/validated' 2>'$tmp/validate.err' || { cat '$tmp/validate.err'; false; }"
check "--validate redacts the example's static secret" "grep -q '<redacted>' '$tmp/validated' && ! grep -q 'STATIC-SECRET' '$tmp/validated'"
check "the unit runs /usr/bin/start-worker /etc/start-worker.yml" "grep -qx 'ExecStart=/usr/bin/start-worker /etc/start-worker.yml' '$root/lib/systemd/system/start-worker.service'"
check "the man page is gzip'd groff" "gzip -dc '$root/usr/share/man/man1/start-worker.1.gz' | head -3 | grep -q '^\\.TH START'"
check "the deb's man page is the build's" "gzip -dc '$root/usr/share/man/man1/start-worker.1.gz' | cmp -s - '$build/start-worker.1'"
finish package
