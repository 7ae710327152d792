#!/bin/sh
# bench/profile.sh - where dmbuild spends its instructions: callgrind
# profiles of a full build, a no-op build and a one-entity edit build of the
# bench/gen.py project.
#
# Usage: bench/profile.sh [ENTITIES [OUTDIR]]   (defaults: 2500, /tmp/dmbuild-profile)
#
# Writes OUTDIR/{full,noop,edit}.cg (open with kcachegrind or
# callgrind_annotate) and OUTDIR/{full,noop,edit}-{self,inclusive}.txt,
# the top functions by own and by inclusive cost.  The dmbuild binary is
# copied first, so a rebuild of the source tree meanwhile changes nothing.
# Callgrind counts instructions, so the machine's load does not matter; it
# runs about 30 times slower than native (a few minutes at 2,500 entities).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
entities=${1:-2500}
out=${2:-/tmp/dmbuild-profile}

command -v valgrind >/dev/null || { echo "profile.sh: apt-get install valgrind" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
dm="$out/dmbuild"
cp "$top/dmbuild" "$dm"
tree="$out/tree"
rm -rf "$tree"
python3 "$here/gen.py" "$tree" --entities "$entities" --dmbuild "$dm"

DMBUILD_DATADIR=$top
NO_COLOR=1
export DMBUILD_DATADIR NO_COLOR
cd "$tree"

cg() {
	echo "profile.sh: $1 build" >&2
	valgrind --tool=callgrind --callgrind-out-file="$out/$1.cg" "$dm" -j 2 \
		>"$out/$1.log" 2>&1
}

cg full
cg noop
python3 "$here/gen.py" --edit . --entity 7 >"$out/edit.json"
cg edit

for p in full noop edit; do
	callgrind_annotate "$out/$p.cg" 2>/dev/null |
		sed -n '/PROGRAM TOTALS/,$p' | head -40 >"$out/$p-self.txt"
	callgrind_annotate --inclusive=yes "$out/$p.cg" 2>/dev/null |
		sed -n '/PROGRAM TOTALS/,$p' | head -60 >"$out/$p-inclusive.txt"
	printf '%s: %s instructions\n' "$p" \
		"$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$out/$p-self.txt")"
done
echo "profile.sh: reports in $out/*-self.txt and $out/*-inclusive.txt" >&2
