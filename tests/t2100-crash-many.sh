#!/bin/sh
# SIGKILL a 2,000-atom build at 20 instants spread over the whole build,
# restarting it each time without letting it finish; then one run to the
# end.  The outputs and the manifest are byte-identical to a clean build
# elsewhere, no file is ever torn, no temporary is left, and the LMDB
# environment is sound.
. "$(dirname "$0")/lib.sh"

# gen N V: a project with N items and two atoms per item (out/a/NAME.txt,
# out/b/NAME.txt), plus out/index.txt: 2N + 1 atoms.  V is a value every
# output shows, so changing it rebuilds everything.
gen() {
	mkdir -p t &&
	printf "spec = s.yaml\natom out/a/{{name}}.txt\n    foreach = items\n    template = t/a.mustache\natom out/b/{{name}}.txt\n    foreach = items\n    template = t/b.mustache\natom out/index.txt\n    template = t/i.mustache\n" >DMfile &&
	{ printf "{{name}} {{v}}\n"; printf "%01000d\n" 0; } >t/a.mustache &&
	printf "{{name}}: {{#tags}}{{.}} {{/tags}}{{v}}\n" >t/b.mustache &&
	printf "{{#items}}{{name}}={{v}}\n{{/items}}" >t/i.mustache &&
	python3 -c '
import sys
n, v = int(sys.argv[1]), sys.argv[2]
sys.stdout.write("items:\n" + "".join("  - {name: n%d, v: %s, tags: [x, y]}\n" % (i, v) for i in range(n)))' "$1" "$2" >s.yaml
}

# untorn: every out/a output there is holds exactly what version 1 or
# version 2 of the spec makes of it (temporaries are not outputs).
untorn() {
	python3 -c '
import os, sys
bad = 0
for f in os.listdir("out/a") if os.path.isdir("out/a") else []:
    if f.startswith("."):
        continue
    data = open("out/a/" + f).read()
    if data not in ["%s %d\n%s\n" % (f[:-4], v, "0" * 1000) for v in (1, 2)]:
        print("torn: out/a/" + f, repr(data[:80]))
        bad = 1
sys.exit(bad)'
}

# written: how many outputs this run has written so far.
written() {
	find out -name "*.txt" -newer "$TRASH/mark" 2>/dev/null | wc -l
}

ms() {
	echo $(($(date +%s%N) / 1000000))
}

# kill_at K: start dmbuild and SIGKILL it at instant K.  Every fourth K
# kills during start-up (locking, opening the cache, planning: S ms, a dry
# run's time in the reference project); the others once the run has
# written 20 to 120 outputs (files are written in bursts after each group
# commit, so a run often gets further), which spreads the kills all
# through the build whatever the speed of the disk.  Appends "K WRITTEN
# mid|finished" to $TRASH/kills: the outputs the run wrote, and whether it
# was killed before it finished.
kill_at() {
	read -r S <"$TRASH/timing"
	: >"$TRASH/run.log" && touch "$TRASH/mark" && sleep 0.01
	"$DMBUILD" 2>"$TRASH/run.log" &
	pid=$!
	if [ $(($1 % 4)) = 0 ]; then
		d=$((S * ($1 % 7 + 1) / 8))
		sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
	else
		want=$((20 + $1 * 37 % 100))
		tries=0
		while kill -0 $pid 2>/dev/null && [ "$(written)" -lt $want ] && [ $tries -lt 3000 ]; do
			sleep 0.005
			tries=$((tries + 1))
		done
	fi
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	if grep -q -e "^stratum" -e "no work to do" "$TRASH/run.log"; then end=finished; else end=mid; fi
	echo "$1 $(written) $end" >>"$TRASH/kills"
	return 0
}

test_expect_success 'a clean reference build of 2,001 atoms' '
	mkdir ref && cd ref && gen 1000 2 &&
	t0=$(ms) && "$DMBUILD" -n >/dev/null 2>&1 && t1=$(ms) && echo $((t1 - t0)) >../timing &&
	"$DMBUILD" 2>../ref.log &&
	test $(ls out/a | wc -l) = 1000 && test $(ls out/b | wc -l) = 1000
'

test_expect_success 'SIGKILL at 10 instants of a build from scratch' '
	mkdir work && cd work && gen 1000 1 &&
	k=1 && while [ $k -le 10 ]; do kill_at $k && untorn || exit 1; k=$((k + 1)); done
'

test_expect_success 'SIGKILL at 10 instants of a rebuild that changes every output' '
	cd work && gen 1000 2 &&
	k=11 && while [ $k -le 20 ]; do kill_at $k && untorn || exit 1; k=$((k + 1)); done
'

test_expect_success 'the kills landed while outputs were being written, in both builds' '
	cat kills &&
	test $(grep -c " mid$" kills) -ge 6 &&
	test $(awk "\$1 <= 10 && \$2 > 0 && \$3 == \"mid\"" kills | wc -l) -ge 2 &&
	test $(awk "\$1 > 10 && \$2 > 0 && \$3 == \"mid\"" kills | wc -l) -ge 2
'
say "start-up ms: $(cat "$TRASH/timing"); kill, outputs written, mid-run or finished:" \
	$(tr '\n' , <"$TRASH/kills")

if command -v mdb_stat >/dev/null 2>&1; then
	test_expect_success 'after the kills, the LMDB environment is sound (mdb_stat -a)' '
		mdb_stat -a work/.dmbuild/cache >stat.out && cat stat.out &&
		mdb_stat -ef work/.dmbuild/cache >/dev/null
	'
else
	test_skip 'mdb_stat not installed (Debian package lmdb-utils)'
fi

test_expect_success 'a final run finishes the job; the next has nothing to do' '
	cd work && "$DMBUILD" 2>../final.log && "$DMBUILD" 2>../noop.log &&
	grep "no work to do" ../noop.log
'

test_expect_success 'outputs and manifest are byte-identical to the clean build' '
	snapshot ref >a && snapshot work >b && test_cmp a b
'

test_expect_success 'the manifest lists every output with the same digests' '
	python3 -c "
import json, os, sys
ref = json.load(open(\"ref/generation_manifest.json\"))[\"files\"]
work = json.load(open(\"work/generation_manifest.json\"))[\"files\"]
assert len(ref) == 2001, len(ref)
assert sorted(ref) == sorted(work), set(ref) ^ set(work)
for path, e in work.items():
    assert e[\"output\"] == ref[path][\"output\"], path
    assert os.path.isfile(os.path.join(\"work\", path)), path
n = sum(len(fs) for _, _, fs in os.walk(\"work/out\"))
assert n == 2001, n
"
'

test_expect_success 'no temporary file is left' '
	! find work -name "*.dmtmp*" | grep .
'

if command -v mdb_stat >/dev/null 2>&1; then
	test_expect_success 'at the end, the LMDB environment is sound, no reader left' '
		mdb_stat -a work/.dmbuild/cache >stat.out && cat stat.out &&
		mdb_stat -r work/.dmbuild/cache >readers; cat readers &&
		grep "no active readers" readers
	'
else
	test_skip 'mdb_stat not installed (Debian package lmdb-utils)'
fi

test_done
