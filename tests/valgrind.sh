#!/bin/sh
# tests/valgrind.sh [UNIT...] - `make check-valgrind`: the unit tests named
# and a representative end-to-end session under valgrind's memcheck; any
# memory error or definite/indirect leak fails (TAP output, exit 1).
#
# The session: build examples/task-api from scratch, a no-op rebuild, an
# edit that rebuilds some atoms, -n, explain, graph, clean,
# examples/ecommerce in safe mode, LLM slot fills from the stub server
# over HTTP, render with YAML and JSON data, and input errors (exit 2).  dmbuild's worker threads
# run under valgrind too (serialised, which is fine).  Each valgrind run
# logs to $TRASH/vg/PID.log (empty when clean); a failing step shows them.
# valgrind also reads VALGRIND_OPTS: VALGRIND_OPTS=--track-origins=yes
# finds where an uninitialised value came from (but makes each dmbuild run
# take half a minute: origins are tracked over LMDB's whole map).
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind is not installed (Debian package valgrind)" >&2
	exit 1
fi
if grep -q '^SAN_FLAGS *= *-fsanitize' "$TOP/config.mk" 2>/dev/null; then
	echo "check-valgrind needs a build without --enable-sanitizers (rerun ./configure)" >&2
	exit 1
fi

VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
VG="$VG --show-leak-kinds=definite,indirect --num-callers=30"
REAL_DMBUILD=$DMBUILD
mkdir -p "$TRASH/vg"
cat >"$TRASH/vg-dmbuild" <<EOF
#!/bin/sh
DMBUILD_FREE_AT_EXIT=1 exec $VG --log-file="$TRASH/vg/%p.log" "$REAL_DMBUILD" "\$@"
EOF
chmod +x "$TRASH/vg-dmbuild"
DMBUILD=$TRASH/vg-dmbuild

# vg_clean: no valgrind run so far has reported anything; the reports are
# shown (and then removed) when one has.
vg_clean() {
	bad=$(find "$TRASH/vg" -type f -size +0 | sort)
	[ -z "$bad" ] && return 0
	for f in $bad; do
		echo "== $f"
		head -n 60 "$f"
		rm -f "$f"
	done
	return 1
}

# vg_expect_success WHAT COMMANDS: test_expect_success, and valgrind was
# silent.
vg_expect_success() {
	test_expect_success "$1" "{ $2
} && vg_clean"
}

for t; do
	case $t in
	/*) path=$t ;;
	*) path=$TOP/$t ;;
	esac
	test_expect_success "unit test $(basename "$t")" '
		$VG --log-file="$TRASH/vg/unit.log" "$path" >unit.out 2>&1 ||
			{ cat "$TRASH/vg/unit.log"; tail -n 20 unit.out; false; }
	'
	rm -f "$TRASH/vg/unit.log"
done

test_expect_success 'set up examples/task-api from scratch' '
	mkdir api && cp -R "$TOP/examples/task-api/DMfile" "$TOP/examples/task-api/app.yaml" \
		"$TOP/examples/task-api/templates" api/
'

vg_expect_success 'a full build' '
	cd api && dm && test -s app/models/task.py && test -s docs/api.md &&
	test -s generation_manifest.json
'

vg_expect_success 'a no-op rebuild' '
	cd api && dm && grep "no work to do" build.log
'

vg_expect_success 'an edit rebuilds the atoms that read it' '
	cd api && sed "s/{name: title, type: str}/{name: title, type: text}/" app.yaml >app.new &&
	mv app.new app.yaml && dm && grep "TEMPLATE" build.log | grep app/models/task.py &&
	grep "title: text" app/models/task.py
'

vg_expect_success 'a dry run after an edit' '
	cd api && sed "s/{name: body, type: str}/{name: body, type: text}/" app.yaml >app.new &&
	mv app.new app.yaml && "$DMBUILD" -n >plan 2>build.log && grep comment plan
'

vg_expect_success 'explain' '
	cd api && "$DMBUILD" explain app/models/task.py >explain.out 2>build.log &&
	grep "app/models/task.py" explain.out
'

vg_expect_success 'graph' '
	cd api && "$DMBUILD" graph >graph.dot 2>build.log && grep "^digraph" graph.dot
'

vg_expect_success 'clean' '
	cd api && dm clean && ! test -e app/models/task.py
'

vg_expect_success 'examples/ecommerce in safe mode: slots from the lock, QA checks' '
	mkdir shop && cp -R "$TOP/examples/ecommerce/DMfile" "$TOP/examples/ecommerce/shop.yaml" \
		"$TOP/examples/ecommerce/skeletons" "$TOP/examples/ecommerce/dmbuild.lock" shop/ &&
	cd shop && dm --mode=safe && test -s app/services/order_flow.py
'

# LLM fills over libcurl from tests/stub/llm_stub.py on loopback.
stub_pid=
if command -v python3 >/dev/null 2>&1; then
	printf '%s\n' '{"fills": {"Fill <<<SLOT add>>>": "return x + y\n", "Fill <<<SLOT neg>>>": "return -x\n"}}' \
		>"$TRASH/script.json"
	python3 "$TOP/tests/stub/llm_stub.py" --script "$TRASH/script.json" --log "$TRASH/req.log" \
		--port-file "$TRASH/port" --max-seconds 300 &
	stub_pid=$!
	n=0
	while [ ! -s "$TRASH/port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$TRASH/port")" ANTHROPIC_API_KEY=sk-ant-test
	export ANTHROPIC_BASE_URL ANTHROPIC_API_KEY
	vg_expect_success 'hybrid mode: two slots filled by a (stub) model over HTTP' '
		mkdir llm && cd llm && mkdir t &&
		printf "flows:\n  a: {doc: add}\n  b: {doc: negate}\n" >s.yaml &&
		printf "def add(x, y):\n{{\$add}}\n    raise NotImplementedError\n{{/add}}\n\n\ndef neg(x):\n{{\$neg}}\n    raise NotImplementedError\n{{/neg}}\n" >t/skel.py.mustache &&
		printf "spec = s.yaml\nllm = anthropic claude-sonnet-4-5\natom out/flow.py\n    template = t/skel.py.mustache\n    with = a=flows.a b=flows.b\n    check = syntax\n    slot add\n        prompt = Implement add: {{a.doc}}\n    slot neg\n        prompt = Implement neg: {{b.doc}}\n" >DMfile &&
		dm && grep "^    return x + y$" out/flow.py && grep "^    return -x$" out/flow.py &&
		test $(wc -l <"$TRASH/req.log") = 2
	'
	kill "$stub_pid" 2>/dev/null
	wait "$stub_pid" 2>/dev/null
else
	test_skip 'hybrid mode over HTTP: python3 is not installed'
fi

vg_expect_success 'render with YAML and with JSON data' '
	printf "{{#items}}{{name.snake}} {{> part}}\n{{/items}}{{^items}}none{{/items}}\n" >r.mustache &&
	printf "[{{n}}]" >part.mustache &&
	printf "items:\n  - {name: OrderLine, n: 1}\n  - {name: HTTPServer, n: 2.5}\n" >d.yaml &&
	printf "{\"items\": [{\"name\": \"OrderLine\", \"n\": 1}, {\"name\": \"HTTPServer\", \"n\": 2.5}]}" >d.json &&
	"$DMBUILD" render r.mustache d.yaml >y.out &&
	"$DMBUILD" render r.mustache d.json >j.out &&
	printf "order_line [1]\nhttp_server [2.5]\n\n" >expect &&
	test_cmp expect y.out && test_cmp expect j.out
'

vg_expect_success 'input errors exit 2' '
	mkdir bad && cd bad && mkdir t &&
	printf "entities:\n  - name: A\n" >s.yaml && printf "x {{name}}\n" >t/x.mustache &&
	printf "spec = s.yaml\natom out/{{name}}.txt\n    foreach = entities\n    template = t/none.mustache\n    bogus = 1\natom out/{{name}}.txt\n    foreach = entities\n    template = t/x.mustache\n" >DMfile &&
	test_expect_code 2 dm && grep "^dmbuild: DMfile:5:5: unknown property" build.log &&
	printf "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\n" >DMfile &&
	printf "entities: [1, 2\n" >s.yaml &&
	test_expect_code 2 dm && grep "^dmbuild: s.yaml:" build.log &&
	printf "entities: []\n" >s.yaml && printf "{{#a}}x\n" >t/x.mustache &&
	test_expect_code 2 dm && grep "^dmbuild: t/x.mustache:" build.log &&
	printf "{\"a\": [1,\n" >d.json && printf "x {{a}}\n" >t/x.mustache &&
	test_expect_code 2 "$DMBUILD" render t/x.mustache d.json 2>build.log &&
	grep "^dmbuild: d.json:" build.log
'

test_done
