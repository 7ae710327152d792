#!/bin/sh
# fuzz/run.sh SECONDS [NAME...] - run each libFuzzer target built by `make
# fuzz` (fuzz/bin/fuzz-NAME; default: all of them) for SECONDS seconds, one
# after the other, and fail if any of them finds a crash, a leak, a hang
# (an input taking more than FUZZ_TIMEOUT seconds, default 10) or an input
# needing more than 2 GiB.
#
# Seeds come from the committed fuzz/corpus/NAME/ (never written to); what
# a run learns goes to fuzz/bin/work/NAME/ and is kept for the next run.
# Crashing inputs land in fuzz/bin/artifacts/ as NAME-crash-<sha1> (or
# -leak-, -timeout-, -oom-); reproduce one with
#   fuzz/bin/fuzz-NAME fuzz/bin/artifacts/NAME-crash-...
# Each run's log is fuzz/bin/NAME.log.
set -u
cd "$(dirname "$0")/.." || exit 2

if [ $# -lt 1 ]; then
	echo "usage: fuzz/run.sh SECONDS [NAME...]" >&2
	exit 2
fi
seconds=$1
shift
case $seconds in
'' | *[!0-9]*) echo "fuzz/run.sh: SECONDS must be a number, got '$seconds'" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- dmfile spec spec-fast mustache json llm lock record
timeout=${FUZZ_TIMEOUT:-10}

# The longest input each target is given; fuzz-mustache ignores more than
# 4096 bytes.
max_len() {
	case $1 in
	mustache) echo 4096 ;;
	spec | spec-fast) echo 16384 ;;
	*) echo 8192 ;;
	esac
}

# The dictionary option, for targets that have one.
dict() {
	case $1 in
	spec | spec-fast) echo -dict=fuzz/yaml.dict ;;
	*) if [ -f "fuzz/$1.dict" ]; then echo "-dict=fuzz/$1.dict"; fi ;;
	esac
}

failed=
for name in "$@"; do
	bin=fuzz/bin/fuzz-$name
	if [ ! -x "$bin" ]; then
		echo "fuzz/run.sh: $bin is not built (run make fuzz)" >&2
		failed="$failed $name"
		continue
	fi
	mkdir -p "fuzz/bin/work/$name" fuzz/bin/artifacts
	log=fuzz/bin/$name.log
	printf 'fuzz: %s for %ss... ' "$name" "$seconds"
	"$bin" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
		-max_len="$(max_len "$name")" $(dict "$name") \
		-artifact_prefix="fuzz/bin/artifacts/$name-" -print_final_stats=1 \
		"fuzz/bin/work/$name" "fuzz/corpus/$name" >"$log" 2>&1
	st=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $st = 0 ]; then
		echo "ok (${runs:-?} inputs)"
	else
		echo "FAILED (exit $st)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|ALARM|artifact_prefix|Test unit written)' "$log" | head -20
		failed="$failed $name"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed (logs in fuzz/bin/NAME.log, inputs in fuzz/bin/artifacts/)"
	exit 1
fi
echo "fuzz: no crash in $# targets"
