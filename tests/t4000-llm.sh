#!/bin/sh
# The LLM stratum end to end, against tests/stub/llm_stub.py on loopback:
# hybrid fills and the lock, safe mode byte for byte with no connection,
# the repair loop with feedback, degradation, secrets, kill -9 with
# requests in flight, both providers and the command provider.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 is not installed"
	exit 0
fi

STUB="$TOP/tests/stub/llm_stub.py"
KEY=sk-ant-test-PLANTED-7f3a9c
stub_pid=

# stub SCRIPT-JSON: start a stub answering by SCRIPT; sets PORT.
stub() {
	stop_stub
	printf '%s\n' "$1" >"$TRASH/script.json"
	rm -f "$TRASH/port" "$TRASH/req.log"
	python3 "$STUB" --script "$TRASH/script.json" --log "$TRASH/req.log" \
		--port-file "$TRASH/port" --max-seconds 300 &
	stub_pid=$!
	n=0
	while [ ! -s "$TRASH/port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	PORT=$(cat "$TRASH/port")
	export ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT" ANTHROPIC_API_KEY=$KEY
	export OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY=$KEY
}
stop_stub() {
	[ -n "$stub_pid" ] && kill "$stub_pid" 2>/dev/null && wait "$stub_pid" 2>/dev/null
	stub_pid=
}
requests() { if [ -f "$TRASH/req.log" ]; then wc -l <"$TRASH/req.log"; else echo 0; fi; }

# project LLM-LINE: a skeleton with two slots and a syntax check.
project() {
	rm -rf p && mkdir -p p/t && cd p &&
	printf "app: shop\nflows:\n  a: {doc: add two numbers}\n  b: {doc: negate}\n" >s.yaml &&
	printf "def add(x, y):\n    \"\"\"{{{a.doc}}}\"\"\"\n{{\$add}}\n    raise NotImplementedError\n{{/add}}\n\n\ndef neg(x):\n{{\$neg}}\n    raise NotImplementedError\n{{/neg}}\n" >t/skel.py.mustache &&
	printf "spec = s.yaml\nllm = $1\natom out/flow.py\n    template = t/skel.py.mustache\n    with = a=flows.a b=flows.b\n    check = syntax\n    slot add\n        prompt = Implement add: {{a.doc}} for {{app}}\n    slot neg\n        prompt = Implement neg: {{b.doc}}\n" >DMfile
}

fills='{"fills": {"Fill <<<SLOT add>>>": "```python\nreturn x + y\n```", "Fill <<<SLOT neg>>>": "return -x\n"}}'

test_expect_success 'hybrid: each slot asked once, fills in place, the lock written' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" &&
	dm && test $(requests) = 2 &&
	grep "^    return x + y$" out/flow.py && grep "^    return -x$" out/flow.py &&
	grep "^slot out/flow.py add$" dmbuild.lock && grep "^|return x + y$" dmbuild.lock &&
	grep "LLM  *1 " build.log && grep "slots filled (claude-sonnet-4-5" build.log
'

test_expect_success 'the requests speak the Anthropic wire format' '
	python3 - "$TRASH/req.log" <<-"EOF_PY"
	import json, sys
	reqs = [json.loads(l) for l in open(sys.argv[1])]
	for r in reqs:
	    assert r["path"] == "/v1/messages", r["path"]
	    assert r["x_api_key"] == "sk-ant-test-PLANTED-7f3a9c"
	    assert r["headers"]["anthropic-version"] == "2023-06-01"
	    b = r["body"]
	    assert b["model"] == "claude-sonnet-4-5" and b["temperature"] == 0.7
	    assert b["system"][0]["cache_control"] == {"type": "ephemeral"}
	    assert "<<<SLOT add>>>" in b["system"][0]["text"] and "<<<SLOT neg>>>" in b["system"][0]["text"]
	assert reqs[0]["body"]["system"] == reqs[1]["body"]["system"], "siblings share the system block"
	users = sorted(r["body"]["messages"][0]["content"] for r in reqs)
	assert "Implement add: add two numbers for shop" in users[0] and "a.doc = \"add two numbers\"" in users[0], users[0]
	EOF_PY
'

test_expect_success 'a rebuild asks nothing; the lock is stable' '
	cd p && cp dmbuild.lock lock.1 && dm && test $(requests) = 2 && test_cmp lock.1 dmbuild.lock &&
	rm -rf .dmbuild && dm && test $(requests) = 2 && test_cmp lock.1 dmbuild.lock
'

test_expect_success 'safe mode in a fresh copy: byte-identical, no connection at all' '
	cd p && stop_stub &&
	mkdir ../copy && cp -r DMfile s.yaml t dmbuild.lock ../copy/ &&
	(cd ../copy && "$DMBUILD" --mode=safe 2>log) &&
	cmp out/flow.py ../copy/out/flow.py &&
	stub "$fills" && (cd ../copy && rm -rf .dmbuild out && "$DMBUILD" --mode=safe 2>log) &&
	test $(requests) = 0 && cmp out/flow.py ../copy/out/flow.py
'

test_expect_success 'safe mode lists every slot without an accepted fill, and asks nothing' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" &&
	test_expect_code 1 dm --mode=safe &&
	grep "safe mode and no accepted fill for slot" build.log &&
	grep "safe mode: 2 slots without an accepted fill" build.log &&
	test $(requests) = 0 && ! test -e out/flow.py
'

test_expect_success '-n estimates the fills: lock, cache, calls' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" &&
	"$DMBUILD" -n >plan && grep "^LLM: 2 slots: 0 from dmbuild.lock, 0 from the cache, 2 calls to claude-sonnet-4-5 (about [0-9]* tokens in, [0-9]* out, \$0\.0[0-9]*)$" plan &&
	dm && mv dmbuild.lock lock.bak &&
	"$DMBUILD" -n >plan && grep "^LLM: 2 slots: 0 from dmbuild.lock, 2 from the cache, 0 calls$" plan &&
	mv lock.bak dmbuild.lock && rm -rf .dmbuild &&
	"$DMBUILD" -n >plan && grep "^LLM: 2 slots: 2 from dmbuild.lock, 0 from the cache, 0 calls$" plan &&
	test $(requests) = 2
'

test_expect_success 'editing a prompt asks again for that slot only' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" && dm && test $(requests) = 2 &&
	sed "s/Implement neg: {{b.doc}}/Implement neg carefully: {{b.doc}}/" DMfile >d && mv d DMfile &&
	dm && test $(requests) = 3 && tail -1 "$TRASH/req.log" | grep -q "carefully"
'

test_expect_success 'a fill edited in the lock rebuilds the atom with it' '
	cd p && sed "s/^|return -x$/|return 0 - x/" dmbuild.lock >l && mv l dmbuild.lock &&
	dm && grep "^    return 0 - x$" out/flow.py && test $(requests) = 3
'

test_expect_success 'repair: a fill failing its check is asked again with the feedback' '
	stub "{\"fills\": {\"Fill <<<SLOT neg>>>\": \"return -x\\n\"}, \"by_marker\": {\"Fill <<<SLOT add>>>\": [{\"kind\": \"ok\", \"text\": \"return (x +\"}, {\"kind\": \"ok\", \"text\": \"return x + y\"}]}}" &&
	project "anthropic claude-sonnet-4-5" && dm &&
	grep "^    return x + y$" out/flow.py && test $(requests) = 3 &&
	grep "LLM  *1  *[0-9.]*s  *0  *1 " build.log &&
	python3 - "$TRASH/req.log" <<-"EOF_PY"
	import json, sys
	reqs = [json.loads(l)["body"] for l in open(sys.argv[1])]
	add = [r for r in reqs if "Fill <<<SLOT add>>>" in r["messages"][0]["content"]]
	assert len(add) == 2, len(add)
	assert add[1]["temperature"] == 0.5, add[1]["temperature"]
	u = add[1]["messages"][0]["content"]
	assert "Your previous answer:" in u and "return (x +" in u and "syntax error" in u, u
	EOF_PY
'

test_expect_success 'every provider failing: fallback bodies, degraded, retried next time' '
	stub "{\"default\": {\"kind\": \"server_error\"}}" &&
	project "anthropic claude-sonnet-4-5" &&
	dm && grep "out/flow.py is degraded" build.log && grep "raise NotImplementedError" out/flow.py &&
	test_expect_code 1 "$DMBUILD" gate --env staging >g && grep "FAIL degraded_atoms = 1" g &&
	! test -e dmbuild.lock &&
	stub "$fills" && dm && grep "return x + y" out/flow.py && "$DMBUILD" gate --env staging
'

# The first quota answer marks the provider dead: the other slot's request
# is sent only if it had started by then, so one or two requests reach the
# stub, never the same one twice.
test_expect_success 'insufficient quota is not retried and says so' '
	stub "{\"default\": {\"kind\": \"quota\"}}" &&
	project "openai gpt-4o" && dm && n=$(requests) && test $n -ge 1 && test $n -le 2 &&
	python3 - "$TRASH/req.log" <<-"EOF_PY" &&
	import json, sys
	users = [json.loads(l)["body"]["messages"][-1]["content"] for l in open(sys.argv[1])]
	assert len(set(users)) == len(users), "a slot was asked twice"
	EOF_PY
	grep -i "quota\|credit" build.log
'

test_expect_success 'the openai provider through OPENAI_BASE_URL' '
	stub "$fills" && project "openai gpt-4o-mini" && dm &&
	grep "^    return -x$" out/flow.py &&
	python3 - "$TRASH/req.log" <<-"EOF_PY"
	import json, sys
	r = json.loads(open(sys.argv[1]).readline())
	assert r["path"] == "/v1/chat/completions", r["path"]
	assert r["authorization"] == "Bearer sk-ant-test-PLANTED-7f3a9c"
	assert r["body"]["messages"][0]["role"] == "system"
	EOF_PY
'

test_expect_success 'the command provider: no shell, prompt on stdin, fill on stdout' '
	project "command ./fake-llm" &&
	printf "#!/bin/sh\nif grep -q \"SLOT add\"; then echo \"return x + y\"; else echo \"return -x\"; fi\n" >fake-llm &&
	chmod +x fake-llm && dm && grep "^    return x + y$" out/flow.py && grep "^slot out/flow.py neg$" dmbuild.lock &&
	grep "^provider command$" dmbuild.lock
'

test_expect_success 'research: asks afresh, writes only under .dmbuild/research/RUN' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" && dm && cp dmbuild.lock lock.1 &&
	cp out/flow.py flow.1 && n=$(requests) &&
	dm --mode=research && grep "research run written to .dmbuild/research/" build.log &&
	test $(requests) = $((n + 2)) &&
	run=$(ls -d .dmbuild/research/*) && test -f "$run/out/flow.py" &&
	test -f "$run/generation_manifest.json" &&
	test_cmp lock.1 dmbuild.lock && test_cmp flow.1 out/flow.py &&
	tail -1 "$TRASH/req.log" | python3 -c "import json,sys; assert json.load(sys.stdin)[\"body\"][\"temperature\"] == 1.0" &&
	dm && grep "no work to do" build.log
'

test_expect_success 'the API key never reaches disk or output' '
	stub "$fills" && project "anthropic claude-sonnet-4-5" &&
	dm -v --trace trace.json && "$DMBUILD" explain out/flow.py >>build.log &&
	! grep -r "PLANTED" . && ! grep "PLANTED" build.log
'

test_expect_success 'kill -9 with requests in flight: received answers are not asked again' '
	stub "{\"latency_ms\": 400, \"echo\": \"Fill <<<SLOT (s[0-9]+)>>>\"}" &&
	rm -rf many && mkdir -p many/t && cd many &&
	{ echo "n:"; i=0; while [ $i -lt 16 ]; do echo "  - s$i"; i=$((i+1)); done; } >s.yaml &&
	{ printf "x = 1\n"; i=0; while [ $i -lt 16 ]; do printf "s$i = {{\$s$i}}None{{/s$i}}\n"; i=$((i+1)); done; } >t/k.py.mustache &&
	{ printf "spec = s.yaml\nllm = anthropic claude-sonnet-4-5\natom out/k.py\n    template = t/k.py.mustache\n"; i=0; while [ $i -lt 16 ]; do printf "    slot s$i\n        prompt = give $i\n"; i=$((i+1)); done; } >DMfile &&
	{ "$DMBUILD" --llm-jobs 4 2>/dev/null & pid=$!; } &&
	sleep 1.5 && kill -9 $pid; wait $pid 2>/dev/null;
	first=$(requests) && "$DMBUILD" --llm-jobs 4 2>log && cat log &&
	total=$(requests) && echo "first run $first, total $total" &&
	test $total -le $((16 + 4)) && test $first -ge 4 &&
	grep "^s15 = s15$" out/k.py
'

stop_stub
test_done
