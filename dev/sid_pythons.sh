#!/usr/bin/env bash
# dev/sid_pythons.sh [VERSION ...]: CPython 3.14 and 3.15 (the default; also 3.14t, the
# free-threaded build, when Debian ships one) from Debian sid's packages, unpacked into
# dev/pythons/VERSION (git-ignored; SID_PYTHONS=FOLDER puts them elsewhere), each started
# by dev/pythons/VERSION/python, which make test-all (dev/test_all.py) finds.
#
# Why this way: pyenv cannot download here and no PyPI or npm package carries a CPython
# that does not download one at run time; Debian's stable release has only 3.11, and sid's
# builds need a newer glibc than the machine's. So each version gets sid's own glibc in its
# folder and is started through sid's loader. Nothing in the system's apt state or /usr
# changes.
#
# Idempotent: a version whose folder is complete (its interpreter starts) is left as it is
# without touching the network, in well under a second. --refresh fetches anew.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dest=${SID_PYTHONS:-$here/dev/pythons}
refresh=
versions=()
for word in "$@"; do
  case $word in
    --refresh) refresh=1 ;;
    -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    3.[0-9]|3.[0-9][0-9]|3.[0-9]t|3.[0-9][0-9]t) versions+=("$word") ;;
    *) echo "sid_pythons: unknown argument '$word' (give versions such as 3.14 3.15, or --refresh)" >&2; exit 2 ;;
  esac
done
[ ${#versions[@]} -gt 0 ] || versions=(3.14 3.15)

fail() {
  echo "sid_pythons: $*" >&2
  exit 1
}

# The interpreter starts, and is the version asked for (free-threaded or not).
works() {
  local version=$1 want_gil
  [ -x "$dest/$version/python" ] || return 1
  want_gil=1; [ "${version%t}" != "$version" ] && want_gil=0
  "$dest/$version/python" -c "
import sys, sysconfig
assert '%d.%d' % sys.version_info[:2] == '${version%t}'
assert str(int(not sysconfig.get_config_var('Py_GIL_DISABLED'))) == '$want_gil'
import ssl, sqlite3, venv, ensurepip, http.server" >/dev/null 2>&1
}

# Debian's packages ship no bytecode (its postinst compiles it): without it every start
# compiles the modules it imports (the suite's servers run with PYTHONDONTWRITEBYTECODE),
# which made the suite four times slower. Compiled once, as the postinst would.
compile_stdlib() {
  local version=$1 root=$dest/$1
  [ -f "$root/.compiled" ] && return 0
  echo "sid_pythons: $version: compiling the standard library"
  "$root/python" -m compileall -q -j 0 "$root/usr/lib/python${version%t}" >/dev/null \
    || fail "$version: compiling its standard library failed: try $root/python -m compileall $root/usr/lib/python${version%t}"
  touch "$root/.compiled"
}

apt_ready=
apt_options=()
# A private apt state (lists, cache, status) that knows only sid; the system's is untouched.
apt_sid() {
  [ -n "$apt_ready" ] && return 0
  local state=$dest/.apt
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || fail "needs apt-get and dpkg-deb (a Debian or Ubuntu machine)"
  [ -r "$keyring" ] || fail "needs Debian's archive keyring $keyring (apt-get install debian-archive-keyring)"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  touch "$state/status"
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" > "$state/sources.list"
  apt_options=(-o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=/nonexistent
               -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
               -o "Dir::State::status=$state/status" -o Debug::NoLocking=1)
  echo "sid_pythons: reading Debian sid's package lists"
  apt-get "${apt_options[@]}" -qq update >"$state/update.log" 2>&1 \
    || fail "could not read Debian sid's package lists (is the Debian mirror reachable?):
$(tail -n 5 "$state/update.log")"
  apt_ready=1
}

# Debian's names: python3.14 and python3.14-venv; the free-threaded build python3.14-nogil.
packages_of() {
  local version=$1
  if [ "${version%t}" != "$version" ]; then
    echo "python${version%t}-nogil"
  else
    echo "python$version python$version-venv"
  fi
}

fetch() {
  local version=$1 root=$dest/$1 work=$dest/.work-$1 top pkgs minor=${1%t} binary
  apt_sid
  top=$(packages_of "$version")
  for pkg in $top; do
    apt-cache "${apt_options[@]}" show "$pkg" >/dev/null 2>&1 \
      || fail "Debian sid has no package $pkg today (its package list is in $dest/.apt/lists)"
  done
  # Everything they need, recursively, less what only installing (not running) uses.
  # shellcheck disable=SC2086
  pkgs=$(apt-cache "${apt_options[@]}" depends --recurse --no-recommends --no-suggests \
           --no-conflicts --no-breaks --no-replaces --no-enhances $top \
         | grep -v '^ ' | grep -v '<' | sort -u \
         | grep -vE '^(cdebconf|debconf|libdebian-installer4|libnewt0.52|libslang2|libtextwrap1|ca-certificates)$')
  rm -rf "$work" "$root"
  mkdir -p "$work/debs" "$work/root"
  echo "sid_pythons: $version: downloading $(echo "$pkgs" | wc -l) packages"
  # shellcheck disable=SC2086
  (cd "$work/debs" && apt-get "${apt_options[@]}" -qq download $pkgs) >"$work/download.log" 2>&1 \
    || fail "$version: downloading from Debian sid failed:
$(tail -n 5 "$work/download.log")"
  for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root" || fail "$version: could not unpack $(basename "$deb")"
  done
  binary=python$minor; [ "$minor" != "$version" ] && binary=python${minor}t
  [ -x "$work/root/usr/bin/$binary" ] || fail "$version: no usr/bin/$binary in sid's packages"
  # Debian's ensurepip reads wheels from /usr/share/python-wheels, this machine's (too old
  # for a new CPython, or none): point it at the wheels unpacked beside it (InstallTest
  # makes a venv with pip).
  local ensurepip=$work/root/usr/lib/python$minor/ensurepip/__init__.py
  [ -f "$ensurepip" ] || fail "$version: no ensurepip in sid's packages"
  sed -i "s|^_pkg_dir = sysconfig.get_config_var('WHEEL_PKG_DIR')\$|_pkg_dir = '$root/usr/share/python-wheels'  # dev/sid_pythons.sh|" "$ensurepip"
  grep -q "$root/usr/share/python-wheels" "$ensurepip" \
    || fail "$version: could not point ensurepip at the unpacked wheels (its code changed?): see $ensurepip"
  mv "$work/root" "$root"
  rm -rf "$work"
  # sid's loader and glibc, not the machine's; --argv0 makes sys.executable this file, so
  # a venv and the suite's subprocesses start the same way.
  local lib=$root/usr/lib/x86_64-linux-gnu
  # It lives beside the real binary: CPython finds its library from where it was started.
  cat > "$root/usr/bin/$binary-here" <<SH
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$root/lib/x86_64-linux-gnu" --argv0 "\$0" "$root/usr/bin/$binary" "\$@"
SH
  chmod +x "$root/usr/bin/$binary-here"
  ln -s "usr/bin/$binary-here" "$root/python"
  works "$version" || fail "$version: unpacked into $root, but it does not start: try $root/python -c 'import ssl'"
}

[ "$(uname -m)" = x86_64 ] || fail "the loader path is x86_64's; this machine is $(uname -m)"
for version in "${versions[@]}"; do
  if [ -z "$refresh" ] && works "$version"; then
    compile_stdlib "$version"
    echo "sid_pythons: $version: $("$dest/$version/python" -c 'import sys; print(sys.version.split()[0])') in $dest/$version (already there)"
    continue
  fi
  fetch "$version"
  compile_stdlib "$version"
  echo "sid_pythons: $version: $("$dest/$version/python" -c 'import sys; print(sys.version.split()[0])') in $dest/$version"
done
