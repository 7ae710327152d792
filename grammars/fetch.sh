#!/bin/sh
# fetch.sh DESTDIR - fetch the tree-sitter grammars pinned in grammars/PINS
# and unpack their C sources under DESTDIR.
#
# For each pin (npm package, version, sha256):
#  - the tarball is taken from the cache directory (DM_GRAMMAR_CACHE,
#    default DESTDIR/.tarballs) when it is there and its sha256 matches,
#    else downloaded with `npm pack PACKAGE@VERSION` and checked;
#  - a digest mismatch is an error and the bad tarball is set aside as
#    NAME.tgz.bad, never unpacked;
#  - the grammar's src/ (typescript/src, tsx/src and common/ for
#    tree-sitter-typescript) and LICENSE go to DESTDIR/NAME, NAME being the
#    package name without its npm scope (tree-sitter-yaml).  This is the
#    layout of the tarball's package/ directory, which is what
#    ./configure --with-grammars=DIR expects.
# DESTDIR/NAME/.pin records the pin it was unpacked from; a grammar whose
# .pin matches is left alone, so running this again does nothing.  Each
# grammar is unpacked into a temporary directory and renamed into place,
# so DESTDIR/NAME is either absent or complete.
# Exit status: 0 when every grammar is in place, 1 otherwise, with the
# reason on stderr as "fetch.sh: ...".
set -eu

prog=fetch.sh
die() {
	printf '%s: %s\n' "$prog" "$1" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: grammars/fetch.sh DESTDIR"
dest=$1
here=$(cd "$(dirname "$0")" && pwd)
pins=${DM_GRAMMAR_PINS:-$here/PINS}
[ -r "$pins" ] || die "cannot read the pin list $pins"

if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
	die "neither sha256sum nor shasum found (Debian package coreutils)"
fi

mkdir -p "$dest" || die "cannot create $dest"
dest=$(cd "$dest" && pwd)
cache=${DM_GRAMMAR_CACHE:-$dest/.tarballs}
mkdir -p "$cache" || die "cannot create $cache"

tmp=
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT
trap 'exit 1' INT TERM HUP

# fetch_one PACKAGE VERSION SHA256
fetch_one() {
	name=$1 version=$2 sum=$3
	dir=${name##*/}
	pin="$name@$version $sum"
	if [ -f "$dest/$dir/.pin" ] && [ "$(cat "$dest/$dir/.pin")" = "$pin" ]; then
		printf '%s: %s@%s: already unpacked\n' "$prog" "$name" "$version"
		return 0
	fi

	# npm names a scoped package's tarball SCOPE-NAME-VERSION.tgz
	tgz=$cache/$(printf '%s' "${name#@}" | tr / -)-$version.tgz
	if [ -f "$tgz" ] && [ "$(sha256 "$tgz")" != "$sum" ]; then
		rm -f "$tgz"
	fi
	if [ ! -f "$tgz" ]; then
		command -v npm >/dev/null 2>&1 ||
			die "npm not found (Debian package npm); it downloads $name@$version"
		printf '%s: npm pack %s@%s\n' "$prog" "$name" "$version"
		if ! (cd "$cache" && npm pack --ignore-scripts --prefer-offline \
			--no-fund --no-audit --loglevel=error "$name@$version") >"$cache/npm.log" 2>&1; then
			cat "$cache/npm.log" >&2
			die "npm pack $name@$version failed (is the npm registry reachable?)"
		fi
		[ -f "$tgz" ] || die "npm pack $name@$version did not write $tgz"
	fi
	got=$(sha256 "$tgz")
	if [ "$got" != "$sum" ]; then
		mv -f "$tgz" "$tgz.bad"
		die "$name@$version: sha256 mismatch: grammars/PINS says $sum, the tarball is $got (kept as $tgz.bad)"
	fi

	tmp=$(mktemp -d "$dest/.unpack.XXXXXX") || die "cannot create a directory in $dest"
	tar -xzf "$tgz" -C "$tmp" || die "cannot unpack $tgz"
	[ -d "$tmp/package" ] || die "$tgz has no package/ directory"
	mkdir "$tmp/out"
	found=no
	for src in "$tmp"/package/src "$tmp"/package/*/src; do
		[ -f "$src/parser.c" ] || continue
		sub=${src#"$tmp"/package/}
		mkdir -p "$tmp/out/$sub"
		cp -R "$src/." "$tmp/out/$sub/"
		found=yes
	done
	[ "$found" = yes ] || die "$tgz holds no src/parser.c"
	if [ -d "$tmp/package/common" ]; then
		cp -R "$tmp/package/common" "$tmp/out/common"
	fi
	for f in "$tmp"/package/LICENSE*; do
		if [ -f "$f" ]; then cp "$f" "$tmp/out/"; fi
	done
	printf '%s\n' "$pin" >"$tmp/out/.pin"
	rm -rf "$dest/$dir"
	mv "$tmp/out" "$dest/$dir" || die "cannot move $dir into $dest"
	rm -rf "$tmp"
	tmp=
	printf '%s: %s@%s: unpacked into %s\n' "$prog" "$name" "$version" "$dest/$dir"
}

n=0
while read -r name version sum rest; do
	case $name in '' | '#'*) continue ;; esac
	[ -n "$sum" ] && [ -z "$rest" ] ||
		die "$pins: malformed line for $name (want: PACKAGE VERSION SHA256)"
	fetch_one "$name" "$version" "$sum"
	n=$((n + 1))
done <"$pins"
[ "$n" -gt 0 ] || die "$pins lists no grammar"
