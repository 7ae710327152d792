# tests/lib.sh - end-to-end test helpers (TAP, read by prove).
#
# A test script sources this file, then runs steps:
#   test_expect_success 'what' 'commands chained with &&'
# Each script gets its own scratch directory (tests/trash.NAME), entered
# before the first step and removed by test_done when every step passed.
# Helpers: test_must_fail, test_expect_code, test_cmp, dm (runs dmbuild,
# keeping stderr in build.log), check_rebuilds / check_no_rebuild (tup's
# style: build, then compare the atoms that were rebuilt with a list).

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$TEST_DIR/.." && pwd)
DMBUILD=${DMBUILD:-$TOP/dmbuild}
DMBUILD_DATADIR=${DMBUILD_DATADIR:-$TOP}
export DMBUILD_DATADIR
unset NO_COLOR
LC_ALL=C
export LC_ALL

test_name=$(basename "$0" .sh)
TRASH="$TOP/tests/trash.$test_name"
rm -rf "$TRASH"
mkdir -p "$TRASH" || exit 1
cd "$TRASH" || exit 1

test_count=0
test_failed=0

say() { printf '# %s\n' "$*"; }

test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TRASH/.out" 2>&1; then
		printf 'ok %d - %s\n' "$test_count" "$1"
	else
		test_failed=$((test_failed + 1))
		printf 'not ok %d - %s\n' "$test_count" "$1"
		sed 's/^/#   /' "$TRASH/.out"
		printf '#   in: %s\n' "$(printf '%s' "$2" | sed '2,$s/^/#       /')"
	fi
}

test_skip() {
	test_count=$((test_count + 1))
	printf 'ok %d # skip %s\n' "$test_count" "$1"
}

test_done() {
	printf '1..%d\n' "$test_count"
	cd "$TOP" || exit 1
	if [ "$test_failed" = 0 ]; then
		rm -rf "$TRASH"
		exit 0
	fi
	say "$test_failed of $test_count failed; scratch kept in $TRASH"
	exit 1
}

# test_must_fail CMD...: CMD exits non-zero, and not by a signal.
test_must_fail() {
	"$@"
	st=$?
	if [ $st = 0 ]; then
		echo "test_must_fail: '$*' succeeded"
		return 1
	elif [ $st -gt 128 ]; then
		echo "test_must_fail: '$*' died of a signal ($st)"
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD exits with status N.
test_expect_code() {
	want=$1
	shift
	"$@"
	st=$?
	if [ "$st" != "$want" ]; then
		echo "test_expect_code: '$*' exited $st, expected $want"
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2"
}

# dm ARGS...: run dmbuild with stderr in build.log (also shown on failure).
dm() {
	"$DMBUILD" "$@" 2>build.log
	st=$?
	cat build.log >&2
	return $st
}

# rebuilt: the outputs named by "[n/N] STRATUM path" lines of build.log.
rebuilt() {
	sed -n 's/^\[ *[0-9]*\/[0-9]*\] [A-Z]* *//p' build.log | sort
}

# check_rebuilds PATH...: a build rebuilds exactly these outputs.
check_rebuilds() {
	dm || return 1
	printf '%s\n' "$@" | sort >expect.rebuilt
	rebuilt >actual.rebuilt
	test_cmp expect.rebuilt actual.rebuilt
}

# check_no_rebuild: a build rebuilds nothing.
check_no_rebuild() {
	dm || return 1
	rebuilt >actual.rebuilt
	if [ -s actual.rebuilt ]; then
		echo "expected no rebuild, got:"
		cat actual.rebuilt
		return 1
	fi
	return 0
}

# snapshot DIR: a listing of every file under DIR with its checksum, for
# comparing two trees (the .dmbuild state is left out).
snapshot() {
	(cd "$1" && find . -path ./.dmbuild -prune -o -type f -print | LC_ALL=C sort |
		while read -r f; do printf '%s %s\n' "$(cksum <"$f")" "$f"; done)
}

# make_shop: a small project: 3 entities in a list, per-entity atoms, an
# aggregate atom that reads only names, and one that reads everything.
make_shop() {
	mkdir -p templates &&
	cat >DMfile <<-'EOF_DM' &&
	spec = shop.yaml

	atom app/models/{{name.snake}}.py
	    foreach  = entities
	    template = templates/model.py.mustache

	atom app/names.txt
	    template = templates/names.mustache

	atom app/schema.txt
	    template = templates/schema.mustache
	EOF_DM
	cat >shop.yaml <<-'EOF_Y' &&
	app: shop
	entities:
	  - name: Customer
	    fields:
	      - {name: id, type: int}
	      - {name: email, type: str}
	  - name: Order
	    fields:
	      - {name: id, type: int}
	      - {name: total, type: float}
	  - name: OrderLine
	    fields:
	      - {name: id, type: int}
	      - {name: qty, type: int}
	EOF_Y
	cat >templates/model.py.mustache <<-'EOF_T' &&
	# {{app}}: model {{name}}
	class {{name.pascal}}:
	{{#fields}}
	    {{name}}: {{type}}
	{{/fields}}
	{{#doc}}
	    """{{doc}}"""
	{{/doc}}
	EOF_T
	cat >templates/names.mustache <<-'EOF_T' &&
	{{#entities}}
	{{name}}
	{{/entities}}
	EOF_T
	cat >templates/schema.mustache <<-'EOF_T'
	{{#entities}}
	{{name}}({{#fields}}{{name}}:{{type}} {{/fields}})
	{{/entities}}
	EOF_T
}
