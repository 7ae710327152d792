#!/bin/sh
# Outputs edited by hand are never overwritten silently; outputs of atoms
# that disappeared are deleted unless edited; clean; atomic writes; two
# builds of one project in two directories give identical outputs.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
	make_shop && dm
'

test_expect_success 'an output edited by hand is kept when its atom is fresh' '
	echo "# my edit" >>app/models/order.py &&
	cp app/models/order.py edited &&
	dm && grep "app/models/order.py was edited by hand; kept it" build.log &&
	test_cmp edited app/models/order.py
'

test_expect_success 'an edited output is kept when its atom is stale, and the build says so' '
	sed "s/{name: total, type: float}/{name: total, type: money}/" shop.yaml >s && mv s shop.yaml &&
	test_expect_code 1 dm &&
	grep "app/models/order.py was edited by hand" build.log &&
	test_cmp edited app/models/order.py &&
	grep "total:" app/schema.txt | grep -q money || grep -q "total:money" app/schema.txt
'

test_expect_success '-n lists the kept output' '
	"$DMBUILD" -n >plan 2>&1; cat plan &&
	grep "app/models/order.py" plan
'

test_expect_success '--force overwrites the edit' '
	dm --force &&
	grep "total: money" app/models/order.py &&
	! grep "my edit" app/models/order.py &&
	check_no_rebuild
'

test_expect_success 'a file that is in the way of a new output is kept' '
	mkdir -p app/models && echo "mine" >app/models/zeta.py &&
	printf "  - name: Zeta\n    fields: []\n" >>shop.yaml &&
	test_expect_code 1 dm &&
	grep "app/models/zeta.py was edited by hand (or not written by dmbuild)" build.log &&
	echo mine >expect && test_cmp expect app/models/zeta.py &&
	rm app/models/zeta.py && dm && grep "class Zeta" app/models/zeta.py
'

test_expect_success 'the output of an atom that disappeared is removed' '
	sed "/name: Zeta/,\$d" shop.yaml >s && mv s shop.yaml &&
	dm && ! test -e app/models/zeta.py &&
	grep "removed app/models/zeta.py" build.log
'

test_expect_success 'an edited output of an atom that disappeared is kept' '
	printf "  - name: Omega\n    fields: []\n" >>shop.yaml &&
	dm && echo "# mine" >>app/models/omega.py &&
	sed "/name: Omega/,\$d" shop.yaml >s && mv s shop.yaml &&
	dm && test -e app/models/omega.py &&
	grep "omega.py is no longer generated but was edited by hand; kept it" build.log &&
	rm app/models/omega.py
'

test_expect_success 'the manifest lists every output with its digests' '
	test -f generation_manifest.json &&
	python3 -c "
import json, sys
m = json.load(open(\"generation_manifest.json\"))
files = m[\"files\"]
assert sorted(files) == [\"app/models/customer.py\", \"app/models/order.py\", \"app/models/order_line.py\", \"app/names.txt\", \"app/schema.txt\"], sorted(files)
f = files[\"app/models/order.py\"]
assert f[\"atoms\"][0][\"stratum\"] == \"TEMPLATE\"
assert f[\"atoms\"][0][\"template\"] == \"templates/model.py.mustache\"
assert f[\"atoms\"][0][\"element\"] == \"entities[1]\"
assert len(f[\"inputs\"]) == 32 and len(f[\"output\"]) == 32
"
'

test_expect_success 'a no-op build writes nothing at all in the project' '
	sleep 1 && touch .marker && "$DMBUILD" 2>.log &&
	grep "no work to do" .log &&
	find . -path ./.dmbuild -prune -o -newer .marker ! -name ".*" -print >.newer &&
	test_cmp /dev/null .newer
'

test_expect_success 'no temporary files are left behind' '
	! find . -name "*.dmtmp*" | grep .
'

test_expect_success 'explain names the atom, template, spec reads and why' '
	"$DMBUILD" explain app/models/order.py >ex &&
	grep "atom      atom app/models/{{name.snake}}.py (DMfile:3:1)" ex &&
	grep "element   entities\[1\]" ex &&
	grep "template  templates/model.py.mustache" ex &&
	grep "value    entities\[1\].fields\[1\].type" ex &&
	grep "missing  entities\[1\].doc" ex &&
	grep "file     templates/model.py.mustache" ex &&
	grep "the file matches" ex &&
	test_expect_code 2 "$DMBUILD" explain app/none.py 2>err && grep "no atom writes" err
'

test_expect_success 'graph prints dot with the after edges' '
	"$DMBUILD" graph >g.dot &&
	head -1 g.dot | grep "digraph dmbuild" &&
	grep "\"app/names.txt\"" g.dot
'

test_expect_success 'clean removes outputs but keeps edited ones' '
	echo "# mine" >>app/names.txt &&
	dm clean && ! test -e app/models/order.py && ! test -e generation_manifest.json &&
	test -e app/names.txt && grep "app/names.txt was edited by hand" build.log &&
	dm clean --force && ! test -e app/names.txt && ! test -d app
'

test_expect_success 'the same project built in two directories gives identical outputs' '
	mkdir one two &&
	(cd one && make_shop && "$DMBUILD" 2>/dev/null) &&
	(cd two && make_shop && "$DMBUILD" -j 1 2>/dev/null) &&
	snapshot one >a && snapshot two >b && test_cmp a b &&
	test $(wc -l <a) -gt 5
'

# LeakSanitizer cannot run under ptrace: the traced runs of a sanitizer
# build skip the leak check.
test_expect_success 'an unchanged output is not read again: its stamp is in the cache' '
	rm -rf stamps && mkdir stamps && (
		cd stamps && make_shop && dm &&
		sed "s/{name: total, type: float}/{name: total, type: money}/" shop.yaml >s &&
		mv s shop.yaml &&
		ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=open,openat -o ../trace \
			"$DMBUILD" >/dev/null 2>&1 &&
		touch app/names.txt && dm && ! grep "TEMPLATE app/names.txt" build.log &&
		sed "s/type: money/type: decimal/" shop.yaml >s && mv s shop.yaml &&
		ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=open,openat -o ../trace2 \
			"$DMBUILD" >/dev/null 2>&1
	) &&
	grep "order.py" trace && ! grep "customer.py" trace && ! grep "names.txt" trace &&
	grep "order.py" trace2 && ! grep "names.txt" trace2
'

# The outputs are stat'ed ahead while the project loads; an atom assessed
# again by a worker, once what it comes after is done, must look anew: here
# the upstream atom's cmd check edits the downstream output.
test_expect_success 'an output edited during the build, before its atom runs, is kept' '
	mkdir during && cd during &&
	echo "v: 1" >s.yaml && echo "a{{v}}" >a.mustache && echo "b{{v}}" >b.mustache &&
	printf "if [ -f flag ]; then echo sneaky >>b.txt; fi\n" >edit_b.sh &&
	printf "spec = s.yaml\natom a.txt\n    template = a.mustache\n    check = cmd:sh edit_b.sh\natom b.txt\n    template = b.mustache\n    after = a.txt\n" >DMfile &&
	dm && dm && echo "a{{v}}!" >a.mustache && touch flag &&
	dm && grep "warning: b.txt was edited by hand; kept it" build.log &&
	printf "b1\nsneaky\n" >expect && test_cmp expect b.txt
'

test_done
