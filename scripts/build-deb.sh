#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the Debian packages (debian/) with dpkg-buildpackage -us -uc -b
# in a clean copy of the tree, and run lintian on them: no errors and no
# warnings allowed (overrides in debian/*.lintian-overrides carry their
# reason).
#
# usage: scripts/build-deb.sh
#   output: build/deb/*.deb, *.changes, build.log, lintian.log, and
#           build/deb/result.log (KTAP + MGPU-RESULT-END, read by
#           scripts/check.sh as "deb").  Exit status 0 only when the
#           packages were built and lintian is clean.
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/deb
ver=$(dpkg-parsechangelog -l "$MGPU_ROOT/debian/changelog" -S Version 2>/dev/null || true)
src=$out/mgpu-${ver%%-*}

# Build dependencies (debian/control) and the tools.
ensure_pkgs dpkg-dev debhelper dh-dkms lintian libpci-dev libudev-dev \
	pkg-config python3 python3-docutils
[ -n "$ver" ] || ver=$(dpkg-parsechangelog -l "$MGPU_ROOT/debian/changelog" -S Version)

rm -rf "$out"
mkdir -p "$src"
# The clean tree: what git tracks or would track (new files not yet
# committed included), never build products; without git, everything
# but build/.
if git -C "$MGPU_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$MGPU_ROOT" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$MGPU_ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

res=$out/result.log
info "deb: dpkg-buildpackage -us -uc -b (log: $out/build.log)"
{
	echo "KTAP version 1"
	echo "1..2"
	built=
	if (cd "$src" && dpkg-checkbuilddeps && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
		built=1
		echo "ok 1 deb: dpkg-buildpackage -us -uc -b ($(cd "$out" && ls ./*.deb | sed 's|^\./||; s|_.*||' | tr '\n' ' ' | sed 's/ $//'))"
	else
		echo "not ok 1 deb: dpkg-buildpackage -us -uc -b"
		tail -n 30 "$out/build.log" | sed 's/^/# /'
	fi
	if [ -n "$built" ] &&
	   lintian --fail-on error,warning --tag-display-limit 0 "$out"/*.changes >"$out/lintian.log" 2>&1 &&
	   ! grep -Eq '^[EW]: ' "$out/lintian.log"; then
		echo "ok 2 deb: lintian (no errors or warnings)"
	else
		echo "not ok 2 deb: lintian"
		grep -E '^[EW]: ' "$out/lintian.log" 2>/dev/null | head -n 30 | sed 's/^/# /'
	fi
	echo MGPU-RESULT-END
} >"$res" 2>&1
rm -rf "$src"
if grep -q '^not ok' "$res"; then
	sed -n 's/^# //p' "$res" >&2
	die "deb: packages not built or lintian not clean (logs: $out/build.log, $out/lintian.log)"
fi
info "deb: $(cd "$out" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')"
