#!/bin/sh
# Bad input of every kind: files cut mid-token, binary garbage, invalid
# UTF-8, NUL bytes, a huge spec, inputs nested 100,000 levels deep,
# aliases, includes and sections that multiply.  Each gets a clear
# "dmbuild: FILE:LINE:COL: ..." error and exit status 2 (1 for what only
# rendering finds: a failed atom), within 20 seconds and 1 GiB, and writes
# no output and no manifest.
. "$(dirname "$0")/lib.sh"

# The address space is limited to 2 GiB where that works (not under ASan,
# which reserves terabytes of shadow memory); the peak RSS is checked in
# every case.
if (ulimit -v 2097152 && "$DMBUILD" --version) >/dev/null 2>&1; then
	vlimit="ulimit -v 2097152;"
else
	vlimit=
	say "address space not limited (sanitizer build?); checking peak RSS only"
fi

# bounded ARGS...: dmbuild ARGS with stderr in build.log, killed after 20
# seconds (exit 124 or 137), under the address space limit; its peak RSS
# in KiB goes to the file rss.
bounded() {
	python3 -c '
import resource, subprocess, sys
with open("build.log", "wb") as log:
    st = subprocess.call(sys.argv[1:], stderr=log)
with open("rss", "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(st if st >= 0 else 128 - st)' \
		sh -c "$vlimit exec timeout -k 5 20 \"\$@\"" sh "$DMBUILD" "$@"
	st=$?
	head -c 2000 build.log >&2
	return $st
}

# small_rss: the last bounded run peaked under 1 GiB.
small_rss() {
	test "$(cat rss)" -lt 1048576 || { echo "peak RSS $(cat rss) KiB"; return 1; }
}

# nothing_written: no output and no manifest.
nothing_written() {
	! test -e out && ! test -e generation_manifest.json
}

# project: a fresh project: a spec with two entities, a template, and a
# DMfile with one atom per entity under out/.
project() {
	cd "$TRASH" && rm -rf p && mkdir -p p/t && cd p &&
	printf "entities:\n  - name: A\n  - name: B\n" >s.yaml &&
	printf "x {{name}}\n" >t/x.mustache &&
	printf "spec = s.yaml\natom out/{{name}}.txt\n    foreach = entities\n    template = t/x.mustache\n" >DMfile
}

# fails_cleanly PATTERN [ARGS...]: dmbuild ARGS exits 2 within the bounds,
# its first message matches the extended regex PATTERN, and it wrote
# nothing.
fails_cleanly() {
	pat=$1
	shift
	test_expect_code 2 bounded "$@" &&
	head -n 1 build.log | grep -E "$pat" &&
	small_rss && nothing_written
}

# garbage SEED BYTES: deterministic pseudo-random bytes on stdout.
garbage() {
	python3 -c '
import random, sys
random.seed(int(sys.argv[1]))
sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(int(sys.argv[2]))))' "$1" "$2"
}

# nest N OPEN [CLOSE [INNER]]: OPEN N times, INNER, then CLOSE N times.
nest() {
	python3 -c 'import sys; n = int(sys.argv[1]); sys.stdout.write(sys.argv[2] * n + sys.argv[4] + sys.argv[3] * n + "\n")' \
		"$1" "$2" "${3:-}" "${4:-}"
}

test_expect_success 'the baseline project builds' '
	project && test_expect_code 0 bounded && test "$(cat out/A.txt)" = "x A"
'

# Files cut in the middle of a token.

test_expect_success 'a DMfile cut in the middle of a property name' '
	project &&
	printf "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\n    tem" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:4:5: unknown property .tem. in atom"
'

test_expect_success 'a DMfile cut in the middle of a Mustache tag' '
	project &&
	printf "spec = s.yaml\natom out/{{na" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:2:1: atom .out/\{\{na. has no template"
'

test_expect_success 'a DMfile cut in the middle of a value' '
	project &&
	printf "spec = s.yaml\natom out/{{name}}.txt\n    foreach = entities\n    template = t/x.must" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:4:16: template .t/x.must.: no such file"
'

test_expect_success 'a spec cut inside a flow sequence' '
	project &&
	printf "entities:\n  - name: A\n  - {name: B, fields: [a, b" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:[0-9]+:[0-9]+: .*flow"
'

test_expect_success 'a spec cut inside a quoted scalar' '
	project &&
	printf "entities:\n  - name: A\n  - name: \"B" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:3:13: .*quoted scalar"
'

test_expect_success 'a template cut inside a tag' '
	project &&
	printf "x {{#name}} {{na" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:13: unclosed tag: expected .\}\}."
'

test_expect_success 'a template cut inside a triple mustache' '
	project &&
	printf "x {{{name}}" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:3: unclosed tag: expected .\}\}\}."
'

# 64 KiB of binary garbage, the same bytes every run.

test_expect_success 'a DMfile of binary garbage' '
	project && garbage 1 65536 >DMfile &&
	fails_cleanly "^dmbuild: DMfile:[0-9]+:[0-9]+: "
'

test_expect_success 'a spec of binary garbage' '
	project && garbage 2 65536 >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:[0-9]+:[0-9]+: "
'

test_expect_success 'a template of binary garbage' '
	project && garbage 3 65536 >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:[0-9]+:[0-9]+: "
'

test_expect_success 'render data of binary garbage' '
	project && garbage 4 65536 >d.json && cp d.json d.yaml &&
	fails_cleanly "^dmbuild: d.json:1:[0-9]+: invalid JSON" render t/x.mustache d.json &&
	fails_cleanly "^dmbuild: d.yaml:[0-9]+:[0-9]+: " render t/x.mustache d.yaml
'

# A spec of 100 MB: far beyond any real spec, and loading it would take
# gigabytes.  It is refused at once, naming the file and the limit.

test_expect_success 'a 100 MB spec is refused with a clear error' '
	project &&
	python3 -c "
import sys
sys.stdout.write(\"entities:\n  - name: A\n  - name: B\nitems:\n\")
chunk = \"\".join(\"  - {name: n%d, v: %d}\n\" % (i, i) for i in range(40000))
for _ in range((100 << 20) // len(chunk) + 1):
    sys.stdout.write(chunk)
" >s.yaml && test $(wc -c <s.yaml) -gt 100000000 &&
	fails_cleanly "^dmbuild: s\.yaml(:[0-9]+:[0-9]+)?: .*(too large|at most)"
'

# Columns are counted in characters: on a line after a non-ASCII byte the
# fast YAML reader counts them, and a long line must cost its length, not
# its length times its tokens (a 1.2 MB flow list once took minutes).

test_expect_success 'a 1.2 MB flow list after a non-ASCII character loads within the bounds' '
	project &&
	python3 -c "
import sys
sys.stdout.write(\"entities:\n  - name: \u00e9\n  - name: B\nitems: [\" + \", \".join([\"x\"] * 400000) + \"]\n\")
" >s.yaml && test $(wc -c <s.yaml) -gt 1200000 &&
	test_expect_code 0 bounded && test "$(cat out/B.txt)" = "x B" && small_rss
'

# Nesting 100,000 levels deep.

test_expect_success 'YAML flow sequences nested 100,000 deep' '
	project && { printf "entities: "; nest 100000 "[" "]"; } >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:1:[0-9]+: nesting deeper than 1000 levels"
'

test_expect_success 'YAML flow maps nested 100,000 deep' '
	project && { printf "entities: "; nest 100000 "{a: " "}" 1; } >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:1:[0-9]+: nesting deeper than 1000 levels"
'

test_expect_success 'YAML block sequences nested 100,000 deep' '
	project && { printf "entities:\n  "; nest 100000 "- " "" x; } >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:2:[0-9]+: nesting deeper than 1000 levels"
'

test_expect_success 'Mustache sections nested 100,000 deep, one per line' '
	project && python3 -c "print(\"{{#name}}\n\" * 100000 + \"{{/name}}\n\" * 100000)" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1001:1: sections nested deeper than 1000"
'

test_expect_success 'Mustache sections nested 100,000 deep on one line' '
	project && nest 100000 "{{#name}}" "{{/name}}" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:9001: sections nested deeper than 1000"
'

test_expect_success 'Mustache blocks nested 100,000 deep on one line' '
	project && nest 100000 "{{\$b}}" "{{/b}}" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:[0-9]+: sections nested deeper than 1000"
'

# Sections over a list nested 40 deep expand 2^40 times: the render's
# work budget stops the atom (exit 1, a failed atom), within the bounds
# even in a sanitizer build.
test_expect_success 'a template whose expansion explodes fails within the bounds' '
	project && printf "spec = s.yaml\natom out/x.txt\n    template = t/x.mustache\n" >DMfile &&
	nest 40 "{{#entities}}" "{{/entities}}" "{{name}}" >t/x.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/x.mustache:1:[0-9]*: template expansion takes more than [0-9]* steps" build.log &&
	small_rss && ! test -e out
'

test_expect_success 'a YAML alias bomb' '
	project && python3 -c "
lines = [\"entities: []\", \"a0: &a0 [x, x, x, x, x, x, x, x, x, x]\"]
for i in range(1, 12):
    lines.append(\"a%d: &a%d [%s]\" % (i, i, \", \".join([\"*a%d\" % (i - 1)] * 10)))
print(\"\\n\".join(lines))" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:[0-9]+:[0-9]+: .*alias"
'

# Includes: a chain 20,000 files deep (the reader recursed once per file
# and overflowed the stack), and 30 files each including the next twice
# (2^30 includes: it never finished).
test_expect_success 'includes nested 20,000 files deep' '
	project && mkdir d && python3 -c "
n = 20000
for i in range(n):
    open(\"d/f%d.dm\" % i, \"w\").write(\"include f%d.dm\\n\" % (i + 1) if i + 1 < n else \"# the end\\n\")
" && printf "include d/f0.dm\n" >>DMfile &&
	fails_cleanly "^dmbuild: [^ ]*:[0-9]+:[0-9]+: .*includ"
'

test_expect_success 'includes repeated exponentially' '
	project && mkdir d && python3 -c "
n = 30
for i in range(n):
    open(\"d/f%d.dm\" % i, \"w\").write(\"include f%d.dm\\ninclude f%d.dm\\n\" % (i + 1, i + 1) if i + 1 < n else \"# leaf\\n\")
" && printf "include d/f0.dm\n" >>DMfile &&
	fails_cleanly "^dmbuild: [^ ]*:[0-9]+:[0-9]+: .*includ"
'

test_expect_success 'JSON render data nested 100,000 deep' '
	project && nest 100000 "[" "]" >d.json &&
	fails_cleanly "^dmbuild: d.json:1:[0-9]+: invalid JSON: maximum parsing depth" \
		render t/x.mustache d.json
'

# A partial that includes itself is a runaway recursion, found while the
# atom renders: the atom fails (exit 1, like any failed atom), with the
# template position, and writes no output.

test_expect_success 'a partial including itself' '
	project && printf "a {{> x}}\n" >t/x.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/x.mustache:1:3: partial recursion deeper than 100 at {{>x}}" build.log &&
	small_rss && ! test -e out
'

test_expect_success 'two partials including each other' '
	project && printf "a {{> y}}\n" >t/x.mustache && printf "b\n  {{> x}}\n" >t/y.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/[xy].mustache:[0-9]:[0-9]: partial recursion deeper than 100" build.log &&
	small_rss && ! test -e out
'

test_expect_success 'a parent that is itself' '
	project && printf "{{<x}}{{\$b}}c{{/b}}{{/x}}\n" >t/x.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/x.mustache:1:1: partial recursion deeper than 100 at {{<x}}" build.log &&
	small_rss && ! test -e out
'

# Invalid UTF-8 and NUL bytes.  Templates are text like the DMfile and the
# spec: a template is read as UTF-8 without NUL bytes.

test_expect_success 'invalid UTF-8 in a DMfile' '
	project &&
	printf "spec = s.yaml\natom out/{{name}}.txt\n    foreach = entit\303\050es\n    template = t/x.mustache\n" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:3:20: invalid UTF-8 byte 0xC3; expected UTF-8 text"
'

test_expect_success 'invalid UTF-8 in a spec' '
	project && printf "entities:\n  - name: A\377\n  - name: B\n" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:2:12: .*UTF-8"
'

test_expect_success 'invalid UTF-8 in a template' '
	project && printf "caf\351 {{name}}\n" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:4: invalid UTF-8"
'

# A partial is read while the atom renders: a bad one fails the atom (exit
# 1, like any partial that does not parse), naming the partial's position.
test_expect_success 'invalid UTF-8 in a partial' '
	project && printf "x {{> p}}\n" >t/x.mustache && printf "caf\351\n" >t/p.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/p.mustache:1:4: invalid UTF-8" build.log &&
	small_rss && ! test -e out
'

test_expect_success 'invalid UTF-8 in a template given to render' '
	project && printf "caf\351 {{name}}\n" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:4: invalid UTF-8" render t/x.mustache
'

test_expect_success 'invalid UTF-8 in JSON render data' '
	project && printf "{\"name\": \"\377\"}" >d.json &&
	fails_cleanly "^dmbuild: d.json:1:[0-9]+: invalid JSON: unable to decode byte 0xff" \
		render t/x.mustache d.json
'

test_expect_success 'a NUL byte in a DMfile' '
	project &&
	printf "spec = s.yaml\natom out/{{name}}.txt\n    foreach = enti\000ties\n    template = t/x.mustache\n" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:3:19: NUL byte"
'

test_expect_success 'a NUL byte in a spec' '
	project && printf "entities:\n  - name: A\000\n  - name: B\n" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:2:12: .*control characters"
'

test_expect_success 'a NUL byte in a template' '
	project && printf "x\000y {{name}}\n" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:2: NUL byte"
'

test_expect_success 'a NUL byte in a partial' '
	project && printf "x {{> p}}\n" >t/x.mustache && printf "a\000b\n" >t/p.mustache &&
	test_expect_code 1 bounded &&
	grep "^dmbuild: t/p.mustache:1:2: NUL byte" build.log &&
	small_rss && ! test -e out
'

test_expect_success 'a NUL byte in a template given to render' '
	project && printf "x\000y {{name}}\n" >t/x.mustache &&
	fails_cleanly "^dmbuild: t/x.mustache:1:2: NUL byte" render t/x.mustache
'

# A spec string may hold "\0" as an escape; an output path made from it
# must not be cut at the NUL (it named out/A, silently, and "A\0x" and
# "A\0y" collided).
test_expect_success 'a NUL from the spec in an output path' '
	project && printf "entities:\n  - name: \"A\\\\0x\"\n" >s.yaml &&
	fails_cleanly "^dmbuild: DMfile:2:6: .*NUL"
'

# Files that are not files.

test_expect_success 'a DMfile that is a directory' '
	project && rm DMfile && mkdir DMfile &&
	fails_cleanly "^dmbuild: DMfile: not a regular file" && ! test -e .dmbuild
'

test_expect_success 'a spec that is a directory' '
	project && rm s.yaml && mkdir s.yaml &&
	fails_cleanly "^dmbuild: s.yaml: cannot read spec file: Is a directory"
'

test_expect_success 'a template that is a directory' '
	project && rm t/x.mustache && mkdir t/x.mustache &&
	fails_cleanly "^dmbuild: DMfile:4:16: template .t/x.mustache.: no such file"
'

# An empty DMfile is an empty project: nothing to build, exit 0.  The
# first run writes an empty manifest; the next writes nothing.
test_expect_success 'an empty DMfile builds nothing and exits 0' '
	project && : >DMfile &&
	test_expect_code 0 bounded &&
	grep "^dmbuild: no work to do" build.log &&
	! test -e out &&
	! grep "\"output\"" generation_manifest.json &&
	cp generation_manifest.json before && touch -t 200001010000 generation_manifest.json &&
	test_expect_code 0 bounded &&
	test_cmp before generation_manifest.json &&
	test -z "$(find generation_manifest.json -newer DMfile)"
'

test_expect_success 'a DMfile of comments and blank lines is empty too' '
	project && printf "# nothing yet\n\n   # indented\r\n\n" >DMfile &&
	test_expect_code 0 bounded && ! test -e out
'

# Floods: binary garbage gives hundreds of errors, of which 50 are shown
# and then one line counts the rest; a 10 MB line quoted in a message is
# cut, so neither floods the terminal.
test_expect_success 'hundreds of errors: 50 shown, then a count' '
	project && garbage 1 65536 >DMfile &&
	fails_cleanly "^dmbuild: DMfile:[0-9]+:[0-9]+: " &&
	test "$(wc -l <build.log)" -eq 51 &&
	tail -n 1 build.log | grep -E "^dmbuild: DMfile: [0-9]{3} more errors not shown$"
'

test_expect_success '10 MB lines are quoted cut' '
	project && python3 -c "x = \"x\" * 10000000; print(x); print(\"atom \" + x)" >DMfile &&
	fails_cleanly "^dmbuild: DMfile:1:1: unknown keyword .x{48}[.]{3}.; expected " &&
	grep -E "^dmbuild: DMfile:2:1: atom .x{156}[.]{3}. has no template" build.log &&
	test "$(wc -l <build.log)" -eq 2 && test "$(wc -c <build.log)" -lt 800
'

# The budget often runs out on the text inside the loops, which has no
# tag of its own: the error names the section expanding it (the section
# tags are on the odd lines, the text on the even ones), in a build and
# in render.
test_expect_success 'an exploding template with text in its loops names the section' '
	project && printf "spec = s.yaml\natom out/x.txt\n    template = t/x.mustache\n" >DMfile &&
	python3 -c "print(\"{{#entities}}\nx\n\" * 40 + \"{{/entities}}\n\" * 40, end=\"\")" >t/x.mustache &&
	test_expect_code 1 bounded &&
	grep -E "^dmbuild: t/x.mustache:[0-9]*[13579]:1: template expansion takes more than [0-9]+ steps" build.log &&
	small_rss && ! test -e out &&
	test_expect_code 2 bounded render t/x.mustache s.yaml >/dev/null &&
	grep -E "^dmbuild: t/x.mustache:[0-9]*[13579]:1: template expansion takes more than [0-9]+ steps" build.log
'

test_done
