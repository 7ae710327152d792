#!/bin/sh
# The command line: help, version, dry run with waves and reasons, -v,
# targets, -C and -f, -k, -j, progress lines, exit statuses.
. "$(dirname "$0")/lib.sh"

test_expect_success '--help and --version' '
	"$DMBUILD" --help >out && grep "^usage: dmbuild" out && grep "explain PATH" out &&
	grep "exit status: 0 success, 1 build or check failure, 2 usage or input error" out &&
	"$DMBUILD" --version >out && grep "^dmbuild [0-9]*\.[0-9]*\.[0-9]*$" out
'

test_expect_success 'a chain of atoms: setup' '
	mkdir -p t &&
	printf "spec = s.yaml\natom gen/a.txt\n    template = t/a.mustache\natom gen/b.txt\n    template = t/b.mustache\n    after = gen/a.txt\natom gen/c.txt\n    template = t/c.mustache\n    after = gen/b.txt\natom gen/d.txt\n    template = t/d.mustache\n" >DMfile &&
	printf "a: 1\nb: 1\nc: 1\nd: 1\n" >s.yaml &&
	for x in a b c d; do printf "$x={{$x}}\n" >t/$x.mustache; done
'

test_expect_success '-n prints the plan in waves and writes nothing' '
	"$DMBUILD" -n >plan 2>err && cat plan &&
	grep "^dmbuild: 4 of 4 atoms to build, in 3 waves$" plan &&
	sed -n "/^wave 1:/,/^wave 2:/p" plan | grep "gen/a.txt: new atom" &&
	sed -n "/^wave 1:/,/^wave 2:/p" plan | grep "gen/d.txt: new atom" &&
	sed -n "/^wave 2:/,/^wave 3:/p" plan | grep "gen/b.txt" &&
	sed -n "/^wave 3:/,\$p" plan | grep "gen/c.txt" &&
	! test -e gen && ! test -e generation_manifest.json
'

test_expect_success 'progress is one plain line per atom when stderr is not a terminal' '
	dm && test $(grep -c "^\[[1-4]/4\] TEMPLATE gen/[abcd].txt$" build.log) = 4 &&
	grep "^stratum *atoms *time *errors *repaired" build.log &&
	grep "^TEMPLATE *4 " build.log &&
	! grep "$(printf "\033")" build.log
'

test_expect_success '-n after an edit gives the reason and the waiting dependents' '
	printf "a: 2\nb: 1\nc: 1\nd: 1\n" >s.yaml &&
	"$DMBUILD" -n >plan && cat plan &&
	grep "^dmbuild: 3 of 4 atoms to build, in 3 waves$" plan &&
	grep "gen/a.txt: spec a changed" plan &&
	grep "gen/b.txt: maybe: after gen/a.txt, which is rebuilt first" plan &&
	! grep "gen/d.txt" plan
'

test_expect_success 'dependents whose reads did not change are not rebuilt' '
	check_rebuilds gen/a.txt
'

test_expect_success '-v says why' '
	printf "a: 2\nb: 1\nc: 1\nd: 2\n" >s.yaml &&
	dm -v && grep "dmbuild: gen/d.txt: spec d changed" build.log
'

test_expect_success 'targets build only themselves and what they come after' '
	printf "a: 3\nb: 3\nc: 3\nd: 3\n" >s.yaml &&
	dm gen/b.txt && rebuilt >got && printf "gen/a.txt\ngen/b.txt\n" >want && test_cmp want got &&
	grep "c=1" gen/c.txt && check_rebuilds gen/c.txt gen/d.txt
'

test_expect_success '-C and -f' '
	mkdir other && cp -r t s.yaml other/ && cp DMfile other/Build.dm &&
	"$DMBUILD" -C other -f Build.dm 2>log && test -f other/gen/c.txt &&
	test_expect_code 2 "$DMBUILD" -C other 2>log && grep "DMfile: no such file" log &&
	test_expect_code 2 "$DMBUILD" -C nowhere 2>log && grep "nowhere" log
'

test_expect_success 'a failing atom: exit 1, dependents skipped, independent atoms built' '
	mkdir k && cd k && mkdir t &&
	printf "spec = s.yaml\natom o/a\n    template = t/bad.mustache\natom o/b\n    template = t/ok.mustache\n    after = o/a\natom o/c\n    template = t/ok.mustache\n" >DMfile &&
	printf "v: 1\n" >s.yaml && printf "{{v}}\n" >t/ok.mustache &&
	printf "{{> ../../etc/passwd}}\n" >t/bad.mustache &&
	test_expect_code 1 dm -k 0 &&
	grep "partial .\.\./\.\./etc/passwd. is not allowed" build.log &&
	grep "build failed: 1 atom failed" build.log &&
	! test -e o/a && ! test -e o/b && test -f o/c
'

test_expect_success '-j 1 and -j 8 give identical trees' '
	mkdir j1 j8 &&
	for d in j1 j8; do cp -r t s.yaml DMfile $d/; done &&
	"$DMBUILD" -C j1 -j 1 2>/dev/null && "$DMBUILD" -C j8 -j 8 2>/dev/null &&
	snapshot j1 >a && snapshot j8 >b && test_cmp a b
'

test_expect_success 'render: YAML and JSON data, partials beside the template' '
	printf "Hello {{name.pascal}}{{> p}}\n" >r.mustache && printf "!" >p.mustache &&
	printf "name: order_line\n" >d.yaml && printf "{\"name\": \"order_line\"}" >d.json &&
	"$DMBUILD" render r.mustache d.yaml >o1 && "$DMBUILD" render r.mustache d.json >o2 &&
	echo "Hello OrderLine!" >want && test_cmp want o1 && test_cmp want o2 &&
	test_expect_code 2 "$DMBUILD" render none.mustache 2>err && grep "none.mustache" err
'

test_expect_success '-d stats reports each phase with its time and memory' '
	printf "a: 5\nb: 1\nc: 1\nd: 1\n" >s.yaml &&
	"$DMBUILD" -d stats 2>err && cat err &&
	grep "^dmbuild: stats: spec loaded  *[0-9.]* ms  *[0-9.]* ms  rss  *[0-9]* KiB  peak  *[0-9]* KiB$" err &&
	grep "^dmbuild: stats: atoms assessed " err && grep "^dmbuild: stats: atoms built " err &&
	grep "^dmbuild: stats: manifest written " err &&
	test_must_fail "$DMBUILD" -d nothing 2>err && grep "expected .stats." err
'

test_done
