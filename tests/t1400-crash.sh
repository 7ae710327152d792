#!/bin/sh
# kill -9 in the middle of a build, many times; every rerun finishes the
# job, and the end result is byte-identical to a clean build.  Two builds
# at once never corrupt anything.
. "$(dirname "$0")/lib.sh"

# gen N: a project with N entities and two atoms per entity.
gen() {
	mkdir -p t &&
	printf "spec = s.yaml\natom out/a/{{name}}.txt\n    foreach = items\n    template = t/a.mustache\natom out/b/{{name}}.txt\n    foreach = items\n    template = t/b.mustache\natom out/index.txt\n    template = t/i.mustache\n" >DMfile &&
	printf "{{name}} {{v}}\n%%01000d\n" 0 >t/a.mustache &&
	printf "{{name}}: {{#tags}}{{.}} {{/tags}}{{v}}\n" >t/b.mustache &&
	printf "{{#items}}{{name}}={{v}}\n{{/items}}" >t/i.mustache &&
	i=0 && { echo "items:"; while [ $i -lt "$1" ]; do echo "  - {name: n$i, v: $2, tags: [x, y]}"; i=$((i+1)); done; } >s.yaml
}

test_expect_success 'a clean reference build' '
	mkdir ref && cd ref && gen 1500 1 && "$DMBUILD" 2>/dev/null &&
	gen 1500 2 && "$DMBUILD" 2>/dev/null
'

test_expect_success 'SIGKILL at 10 instants, rerun each time, then compare' '
	mkdir work && cd work && gen 1500 1 && "$DMBUILD" 2>/dev/null && gen 1500 2 &&
	n=0 &&
	while [ $n -lt 10 ]; do
		"$DMBUILD" >/dev/null 2>&1 &
		pid=$! &&
		sleep 0.$((n * 37 % 30)) &&
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		n=$((n + 1))
	done &&
	"$DMBUILD" 2>../log; cat ../log &&
	cd .. && snapshot ref >a && snapshot work >b && test_cmp a b &&
	! find work -name "*.dmtmp*" | grep . &&
	(cd work && "$DMBUILD" 2>log && grep "no work to do" log)
'

test_expect_success 'two builds at once: the second waits, nothing is torn' '
	mkdir two && cd two && gen 500 1 &&
	{ "$DMBUILD" 2>log1 & p1=$!; } &&
	{ "$DMBUILD" 2>log2 & p2=$!; } &&
	wait $p1 && wait $p2 &&
	cat log1 log2 &&
	grep "waiting for another dmbuild" log1 log2 &&
	grep "no work to do" log1 log2 &&
	"$DMBUILD" 2>log3 && grep "no work to do" log3 &&
	test $(ls out/a | wc -l) = 500
'

test_expect_success 'SIGINT stops cleanly and keeps finished work' '
	mkdir int && cd int && gen 1500 1 &&
	{ "$DMBUILD" -j 1 2>../int.log & pid=$!; } &&
	tries=0 && while [ $(ls out/a 2>/dev/null | wc -l) -lt 20 ] && [ $tries -lt 600 ]; do
		sleep 0.05; tries=$((tries + 1)); done &&
	kill -INT $pid && { wait $pid; test $? = 1; } &&
	grep "interrupted; [0-9]* atoms built, finished work kept" ../int.log &&
	n=$(ls out/a out/b | wc -l) && test $n -gt 10 &&
	"$DMBUILD" 2>log2 && cd .. &&
	mkdir ref2 && cd ref2 && gen 1500 1 && "$DMBUILD" 2>/dev/null && cd .. &&
	snapshot int | grep -v " ./log2" >a && snapshot ref2 >b && test_cmp a b
'

test_done
