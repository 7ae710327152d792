#!/bin/sh
# Every input error of SPEC §4: FILE:LINE:COL, what was expected and what
# was found, exit status 2, and nothing written.
. "$(dirname "$0")/lib.sh"

# project DMFILE-TEXT: a fresh project directory with a spec and templates.
project() {
	rm -rf p && mkdir -p p/t && cd p &&
	printf "entities:\n  - name: A\n  - name: B\nscalar: 3\n" >s.yaml &&
	printf "x {{name}}\n" >t/x.mustache &&
	printf "skel {{\$body}}fallback{{/body}}\n" >t/skel.mustache &&
	printf "$1" >DMfile
}

# fails_cleanly PATTERN: dmbuild exits 2, says PATTERN, and wrote nothing.
fails_cleanly() {
	test_expect_code 2 dm &&
	grep -E "$1" build.log &&
	! test -e out && ! test -e generation_manifest.json
}

test_expect_success 'two atoms writing one path' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\natom out/a.txt\n    template = t/x.mustache\n" &&
	fails_cleanly "^dmbuild: DMfile:4:6: output .out/a.txt. is also written by the atom declared at DMfile:2:1"
'

test_expect_success 'foreach making two atoms with one path' '
	project "spec = s.yaml\natom out/same.txt\n    foreach = entities\n    template = t/x.mustache\n" &&
	fails_cleanly "DMfile:2:6: output .out/same.txt. is also written"
'

test_expect_success 'an after that names nothing' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\n    after = out/nothing.txt\n" &&
	fails_cleanly "^dmbuild: DMfile:4:13: after: no atom writes .out/nothing.txt."
'

test_expect_success 'a cycle names every atom on it' '
	project "spec = s.yaml\natom out/a\n    template = t/x.mustache\n    after = out/b\natom out/b\n    template = t/x.mustache\n    after = out/c\natom out/c\n    template = t/x.mustache\n    after = out/a\n" &&
	fails_cleanly "dependency cycle: " &&
	grep "cycle" build.log | grep out/a | grep out/b | grep out/c
'

test_expect_success 'a slot its skeleton lacks' '
	project "spec = s.yaml\natom out/a.py\n    template = t/skel.mustache\n    slot body\n        prompt = write it\n    slot other\n        prompt = write it\n" &&
	fails_cleanly "^dmbuild: DMfile:6:10: slot .other.: the skeleton t/skel.mustache has no \{\{\\\$other\}\} block" &&
	! grep "slot .body." build.log
'

test_expect_success 'foreach over a scalar' '
	project "spec = s.yaml\natom out/{{name}}.txt\n    foreach = scalar\n    template = t/x.mustache\n" &&
	fails_cleanly "^dmbuild: DMfile:3:15: foreach: expected a list or a map at .scalar., found a int"
'

test_expect_success 'foreach over nothing' '
	project "spec = s.yaml\natom out/{{name}}.txt\n    foreach = nothing\n    template = t/x.mustache\n" &&
	fails_cleanly "DMfile:3:15: foreach: no .nothing. in the spec"
'

test_expect_success 'an output path escaping the project' '
	project "spec = s.yaml\natom ../out.txt\n    template = t/x.mustache\natom /tmp/out.txt\n    template = t/x.mustache\n" &&
	fails_cleanly "DMfile:2:6: output path .\.\./out.txt. is not allowed" &&
	grep "DMfile:4:6: output path ./tmp/out.txt. is not allowed" build.log &&
	! test -e ../out.txt
'

test_expect_success 'an output path leaving through a symlink' '
	project "spec = s.yaml\natom link/out.txt\n    template = t/x.mustache\n" &&
	mkdir -p ../outside && ln -s ../outside link &&
	fails_cleanly "DMfile:2:6: output path .link/out.txt. leaves the project through a symbolic link" &&
	! test -e ../outside/out.txt
'

test_expect_success 'a template escaping the project' '
	project "spec = s.yaml\natom out/a.txt\n    template = ../t.mustache\n" &&
	printf "x\n" >../t.mustache &&
	fails_cleanly "DMfile:3:16: template .\.\./t.mustache. is not allowed"
'

test_expect_success 'a template behind a symlink out of the project' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/evil.mustache\n" &&
	printf "secret\n" >../secret.mustache && ln -s ../../secret.mustache t/evil.mustache &&
	fails_cleanly "DMfile:3:16: template .t/evil.mustache.: no such file"
'

test_expect_success 'an output path too long for the cache' '
	long=$(printf "%0450d" 0) &&
	project "spec = s.yaml\natom out/$long\n    template = t/x.mustache\n" &&
	fails_cleanly "DMfile:2:6: output path is 454 bytes long; at most 400 are allowed"
'

test_expect_success 'a control character from the spec in an output path' '
	project "spec = s.yaml\natom out/{{name}}.txt\n    foreach = entities\n    template = t/x.mustache\n" &&
	printf "entities:\n  - name: \"a\\\\tb\"\n" >s.yaml && cat s.yaml &&
	fails_cleanly "DMfile:2:6: output path .* holds a control character"
'

test_expect_success 'a missing template' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/none.mustache\n" &&
	fails_cleanly "DMfile:3:16: template .t/none.mustache.: no such file"
'

test_expect_success 'an output that would overwrite an input' '
	project "spec = s.yaml\natom s.yaml\n    template = t/x.mustache\n" &&
	fails_cleanly "DMfile:2:6: output path .s.yaml. would overwrite an input"
'

test_expect_success 'several errors are reported at once' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/none.mustache\natom out/b.txt\n    template = t/x.mustache\n    after = out/nothing\natom out/c\n    foreach = scalar\n    template = t/x.mustache\n" &&
	test_expect_code 2 dm &&
	test $(grep -c "^dmbuild: DMfile:" build.log) -ge 2
'

test_expect_success 'a template with a Mustache syntax error' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/bad.mustache\n" &&
	printf "line one\n{{#open}}\n" >t/bad.mustache &&
	fails_cleanly "^dmbuild: t/bad.mustache:[0-9]+:[0-9]+: "
'

test_expect_success 'a spec with a YAML error' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\n" &&
	printf "a: [1, 2\nb: 3\n" >s.yaml &&
	fails_cleanly "^dmbuild: s.yaml:[0-9]+:[0-9]+: "
'

test_expect_success 'a missing spec file' '
	project "spec = none.yaml\natom out/a.txt\n    template = t/x.mustache\n" &&
	test_expect_code 2 dm &&
	grep "none.yaml" build.log
'

test_expect_success 'no DMfile' '
	mkdir -p empty && cd empty &&
	test_expect_code 2 dm &&
	grep "DMfile: no such file" build.log && ! test -e .dmbuild &&
	mkdir DMfile && test_expect_code 2 dm && grep "DMfile: not a regular file" build.log &&
	! test -e .dmbuild
'

test_expect_success 'an unknown option and a bad -j' '
	test_expect_code 2 "$DMBUILD" --bogus 2>err &&
	grep "unknown option" err &&
	test_expect_code 2 "$DMBUILD" -j zero 2>err &&
	grep "expected a number" err
'

test_expect_success 'an unknown target' '
	project "spec = s.yaml\natom out/a.txt\n    template = t/x.mustache\n" &&
	test_expect_code 2 dm out/none.txt &&
	grep "unknown target .out/none.txt." build.log &&
	! test -e out/a.txt
'

test_done
