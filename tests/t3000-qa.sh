#!/bin/sh
# The QA stratum: each check kind passing and failing, contracts and the
# compliance scores, cmd suites, quality.json, the gate for each
# environment, malformed contracts and rules, and --trace.
. "$(dirname "$0")/lib.sh"

# project: a spec with two entities and a model template, plus DMfile text.
project() {
	rm -rf p && mkdir -p p/t && cd p &&
	printf "entities:\n  - name: Order\n    fields: [id, total]\n  - name: Item\n    fields: [id, sku]\n" >s.yaml &&
	printf "class {{name}}:\n{{#fields}}\n    {{.}}: int\n{{/fields}}\n" >t/model.py.mustache &&
	printf "spec = s.yaml\n$1" >DMfile
}

atoms="atom out/{{name.snake}}.py\n    foreach = entities\n    template = t/model.py.mustache\n"

test_expect_success 'syntax passes on good Python' '
	project "$atoms    check = syntax\n" &&
	dm && test -f out/order.py && grep "^QA  *2 " build.log
'

test_expect_success 'syntax fails with PATH:LINE:COL and the line; nothing written' '
	project "$atoms    check = syntax\n" &&
	printf "class {{name}}:\n{{#fields}}\n    {{.}}: int = (\n{{/fields}}\n" >t/model.py.mustache &&
	test_expect_code 1 dm &&
	grep -E "^dmbuild: out/order.py:[0-9]+:[0-9]+: syntax error" build.log &&
	! test -e out/order.py &&
	grep "build failed" build.log
'

test_expect_success 'a failed check is retried on the next build, and fixing it builds' '
	cd p && test_expect_code 1 dm &&
	printf "class {{name}}:\n{{#fields}}\n    {{.}}: int\n{{/fields}}\n" >t/model.py.mustache &&
	dm && test -f out/order.py
'

test_expect_success 'syntax on an extension without a grammar is an input error' '
	project "atom out/x.txt\n    template = t/model.py.mustache\n    check = syntax\n" &&
	test_expect_code 2 dm && grep "DMfile:4:13: check = syntax: no grammar for .out/x.txt." build.log
'

test_expect_success 'an unknown check is an input error' '
	project "$atoms    check = lint\n" &&
	test_expect_code 2 dm && grep "DMfile:5:13: unknown check .lint." build.log
'

test_expect_success 'no-markers passes and fails' '
	project "$atoms    check = no-markers\n" && dm &&
	printf "class {{name}}:\n    pass  # {{=<%% %%>=}}{{#left}}\n" >t/model.py.mustache &&
	test_expect_code 1 dm && grep "out/[a-z_]*\.py:2:1: no-markers" build.log
'

contract='contract model\n    foreach = entities\n    file = out/{{name.snake}}.py\n    query = (class_definition name: (identifier) @c (#eq? @c "{{name}}"))\n'

test_expect_success 'a contract that holds: compliance 1' '
	project "$atoms    check = contract:model\n$contract" &&
	dm &&
	python3 -c "
import json; q = json.load(open(\".dmbuild/reports/quality.json\"))
assert q[\"semantic_compliance\"] == 1 and q[\"ir_compliance_relaxed\"] == 1, q
assert set(q) == {\"semantic_compliance\", \"ir_compliance_relaxed\", \"infra_health\", \"tests\", \"regressions\", \"strata\"}, q
assert q[\"infra_health\"] == \"pass\" and q[\"regressions\"] == []
assert q[\"strata\"][\"QA\"][\"atoms\"] == 2 and q[\"strata\"][\"TEMPLATE\"][\"atoms\"] == 2, q
"
'

test_expect_success 'an atom whose contract item fails fails the build, naming the element' '
	project "$atoms    check = contract:model\n$contract" &&
	printf "class {{name.lower}}:\n    pass\n" >t/model.py.mustache &&
	test_expect_code 1 dm &&
	grep "contract model: out/order.py does not match for entities\[0\]" build.log
'

test_expect_success 'contracts score exactly and relaxed; missing items listed by spec path' '
	project "$atoms$contract" &&
	printf "class {{name.lower}}:\n    pass\n" >t/model.py.mustache &&
	dm && grep "2 contract items not matched (semantic compliance 0.00, relaxed 1.00" build.log &&
	grep "contract model: entities\[1\] in out/item.py" .dmbuild/reports/contracts.txt
'

test_expect_success 'optional items count only towards the relaxed score' '
	project "$atoms${contract}    optional = (function_definition) @f\n" &&
	dm &&
	python3 -c "
import json; q = json.load(open(\".dmbuild/reports/quality.json\"))
assert q[\"semantic_compliance\"] == 0.5 and q[\"ir_compliance_relaxed\"] == 1, q
"
'

test_expect_success 'a malformed contract query is an input error at its position' '
	project "${atoms}contract bad\n    file = out/order.py\n    query = (class_definition name: (identifier @c)\n" &&
	test_expect_code 2 dm && grep -E "^dmbuild: DMfile:[0-9]+:[0-9]+: " build.log &&
	! test -e out
'

test_expect_success 'contract:NAME naming no contract is an input error' '
	project "$atoms    check = contract:nope\n" &&
	test_expect_code 2 dm && grep "no contract named .nope." build.log
'

test_expect_success 'cmd checks pass, fail, and form suites in the report' '
	project "$atoms    check = cmd:python3 -m py_compile {{out}}\n    suite = smoke\natom out/z.txt\n    template = t/model.py.mustache\n    check = cmd:grep -q never {{out}}\n    suite = lint\n" &&
	test_expect_code 1 dm &&
	grep "cmd:grep -q never {{out}} (for out/z.txt) failed: exit status 1" build.log &&
	python3 -c "
import json; q = json.load(open(\".dmbuild/reports/quality.json\"))
assert q[\"tests\"] == {\"lint\": \"fail\", \"smoke\": \"pass\"}, q
assert q[\"infra_health\"] == \"fail\", q
" &&
	test_expect_code 1 dm && grep "out/z.txt" build.log
'

test_expect_success 'cmd arguments reach the program as words, never through a shell' '
	project "atom out/a.txt\n    template = t/model.py.mustache\n    check = cmd:sh -c \"test \\\\\"\\\\\$1\\\\\" = \\\\\"out/a.txt\\\\\"\" x {{out}}\n" &&
	cat DMfile && dm
'

test_expect_success 'a cmd check past its timeout fails' '
	project "atom out/a.txt\n    template = t/model.py.mustache\n    check = cmd:sleep 30\n    timeout = 1\n" &&
	test_expect_code 1 dm && grep "timed out after 1 s" build.log
'

rules() {
	cat >rules.yaml <<-EOF_R
	dev:
	  - {metric: ir_compliance_relaxed, min: 0.7}
	  - {metric: semantic_compliance, min: 1.0, warn: true}
	staging:
	  - {metric: semantic_compliance, min: 1.0}
	  - {metric: regressions, max: 0}
	  - {metric: tests.smoke, equals: pass}
	production:
	  - {metric: semantic_compliance, min: 1.0}
	  - {metric: degraded_atoms, max: 0}
	  - {metric: critical_failures, max: 0, runs: 3}
	EOF_R
}

test_expect_success 'gate: every environment passes on a clean project' '
	project "$atoms    check = cmd:python3 -m py_compile {{out}}\n    suite = smoke\n$contract" &&
	rules && dm &&
	"$DMBUILD" gate --env dev --rules rules.yaml >g && grep "gate dev: passed" g &&
	"$DMBUILD" gate --env staging --rules rules.yaml >g && grep "gate staging: passed" g &&
	"$DMBUILD" gate --env production --rules rules.yaml >g && grep "gate production: passed" g
'

test_expect_success 'gate: dev passes with warnings, staging and production fail, with values' '
	project "$atoms    check = cmd:python3 -m py_compile {{out}}\n    suite = smoke\n$contract" &&
	rules && printf "class {{name.lower}}:\n    pass\n" >t/model.py.mustache && dm &&
	"$DMBUILD" gate --env dev --rules rules.yaml >g && cat g &&
	grep "WARN semantic_compliance = 0 (needs >= 1)" g && grep "passed with warnings" g &&
	test_expect_code 1 "$DMBUILD" gate --env staging --rules rules.yaml >g && cat g &&
	grep "FAIL semantic_compliance = 0 (needs >= 1)" g && grep "ok   tests.smoke = pass" g &&
	grep "gate staging: FAILED (1 clause)" g
'

test_expect_success 'gate: dev fails when even relaxed compliance is under 0.7' '
	project "$atoms$contract" && rules &&
	printf "class Other:\n    pass\n" >t/model.py.mustache && dm &&
	test_expect_code 1 "$DMBUILD" gate --env dev --rules rules.yaml >g && cat g &&
	grep "FAIL ir_compliance_relaxed = 0 (needs >= 0.7)" g && grep "gate dev: FAILED (1 clause)" g
'

test_expect_success 'gate: production fails on a critical failure in the last runs' '
	project "$atoms    check = cmd:python3 -m py_compile {{out}}\n    suite = smoke\n$contract" &&
	rules && dm &&
	printf "class {{name}}:\n  x = (\n" >t/model.py.mustache && test_expect_code 1 dm &&
	printf "class {{name}}:\n{{#fields}}\n    {{.}}: int\n{{/fields}}\n" >t/model.py.mustache && dm &&
	test_expect_code 1 "$DMBUILD" gate --env production --rules rules.yaml >g && cat g &&
	grep "FAIL critical_failures = [1-9][0-9]* (needs <= 0 over the last 3 runs)" g
'

test_expect_success 'gate: malformed rules, unknown environment, no report: exit 2' '
	project "$atoms" && dm &&
	printf "staging:\n  - {metric: nonsense, min: 1}\n" >bad.yaml &&
	test_expect_code 2 "$DMBUILD" gate --env staging --rules bad.yaml 2>err && grep "^dmbuild: bad.yaml:2:14: expected a metric" err &&
	printf "staging:\n  - {metric: regressions, min: 1, max: 2}\n" >bad.yaml &&
	test_expect_code 2 "$DMBUILD" gate --env staging --rules bad.yaml 2>err && grep "bad.yaml:2:5: clause for regressions: expected exactly one" err &&
	printf "staging: [\n" >bad.yaml &&
	test_expect_code 2 "$DMBUILD" gate --env staging --rules bad.yaml 2>err && grep "^dmbuild: bad.yaml:[0-9]*:[0-9]*: " err &&
	rules && test_expect_code 2 "$DMBUILD" gate --env qa --rules rules.yaml 2>err && grep "no policy for environment .qa. (the rules have: dev, staging, production)" err &&
	rm -rf .dmbuild/reports && test_expect_code 2 "$DMBUILD" gate --env dev --rules rules.yaml 2>err && grep "no quality report" err
'

test_expect_success 'gate: the installed default rules' '
	project "$atoms$contract" && dm &&
	"$DMBUILD" gate --env staging >g && cat g && grep "^gate staging (.*rules/gate.yaml):$" g &&
	grep "gate staging: passed" g
'

test_expect_success '--trace writes Chrome trace events for atoms and checks' '
	project "$atoms    check = syntax\n    check = cmd:true\n" &&
	dm --trace trace.json &&
	python3 -c "
import json; t = json.load(open(\"trace.json\"))
ev = t[\"traceEvents\"]
atoms = [e for e in ev if e[\"cat\"] == \"TEMPLATE\"]
checks = [e for e in ev if e[\"cat\"] == \"QA\"]
assert sorted(e[\"name\"] for e in atoms) == [\"out/item.py\", \"out/order.py\"], atoms
assert all(e[\"ph\"] == \"X\" and e[\"args\"][\"outcome\"] == \"built\" for e in atoms)
assert len(checks) == 4 and all(e[\"args\"][\"outcome\"] == \"pass\" for e in checks), checks
"
'

# A query starts in the middle of its DMfile line: its errors are at the
# file's columns, also after a Mustache tag the query expands.
test_expect_success 'contract query errors point at their column in the DMfile' '
	project "${atoms}contract bad\n    file = out/order.py\n    query = (class_definition name: (identifer) @c)\n" &&
	test_expect_code 2 dm && grep "^dmbuild: DMfile:7:38: query: unknown node type .identifer." build.log &&
	cd .. && project "${atoms}contract m\n    foreach = entities\n    file = out/{{name.snake}}.py\n    query = (class_definition name: (identifier) @c (#eq? @c \"{{name}}\") (#eqq? @c \"x\"))\n" &&
	test_expect_code 2 dm && grep "^dmbuild: DMfile:8:75: query: unknown predicate #eqq?" build.log &&
	! test -e out
'

# Long values quoted in messages are cut (text_snip), so a runaway line
# does not flood the terminal.
test_expect_success 'long check values and gate metrics are quoted cut' '
	long=$(python3 -c "print(\"x\" * 300)") &&
	project "$atoms    check = $long\n" &&
	test_expect_code 2 dm && grep -E "^dmbuild: DMfile:5:13: unknown check .x{48}[.]{3}.; expected" build.log &&
	cd .. && project "$atoms" && dm &&
	printf "staging:\n  - {metric: $long, min: 1}\n" >bad.yaml &&
	test_expect_code 2 "$DMBUILD" gate --env staging --rules bad.yaml 2>err &&
	grep -E "^dmbuild: bad.yaml:2:14: expected a metric .*, found .x{48}[.]{3}.$" err
'

test_done
