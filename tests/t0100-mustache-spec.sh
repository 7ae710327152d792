#!/bin/sh
# t0100-mustache-spec.sh - the official Mustache spec (v1.4 core, the
# inheritance and dynamic-names modules; no lambdas) through the CLI:
# every test becomes a directory with __t.mustache, one NAME.mustache per
# partial and data.json, rendered by `dmbuild render`; stdout must match
# "expected" byte for byte.
#
# Environment: DMBUILD (the binary) and MUSTACHE_SPEC (the directory of the
# spec's JSON files), both set by `make check`.

: "${DMBUILD:?DMBUILD must name the dmbuild binary}"
spec=${MUSTACHE_SPEC:-}

if test -z "$spec" || ! test -d "$spec"; then
	echo "1..0 # SKIP mustache spec not found"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not found"
	exit 0
fi

trash=$(cd "$(dirname "$0")" && pwd)/trash.t0100.$$
rm -rf "$trash"
mkdir -p "$trash" || exit 1
trap 'rm -rf "$trash"' EXIT INT TERM

DMBUILD=$DMBUILD SPEC=$spec TRASH=$trash python3 - <<'EOF'
import difflib
import glob
import json
import os
import shutil
import subprocess
import sys

spec = os.environ["SPEC"]
trash = os.environ["TRASH"]
dmbuild = os.environ["DMBUILD"]

files = sorted(f for f in glob.glob(os.path.join(spec, "*.json"))
               if not os.path.basename(f).startswith("~lambdas"))
cases = []
for f in files:
    with open(f, encoding="utf-8") as fh:
        for t in json.load(fh)["tests"]:
            cases.append((os.path.basename(f), t))

print("1..%d" % len(cases))
failed = 0
for n, (fname, t) in enumerate(cases, 1):
    d = os.path.join(trash, "case%d" % n)
    os.mkdir(d)
    with open(os.path.join(d, "__t.mustache"), "w", encoding="utf-8", newline="") as fh:
        fh.write(t["template"])
    for name, text in t.get("partials", {}).items():
        with open(os.path.join(d, name + ".mustache"), "w", encoding="utf-8",
                  newline="") as fh:
            fh.write(text)
    with open(os.path.join(d, "data.json"), "w", encoding="utf-8") as fh:
        json.dump(t["data"], fh)
    p = subprocess.run([dmbuild, "render", os.path.join(d, "__t.mustache"),
                        os.path.join(d, "data.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    want = t["expected"].encode("utf-8")
    label = "%s: %s" % (fname, t["name"])
    if p.returncode == 0 and p.stdout == want:
        print("ok %d - %s" % (n, label))
        shutil.rmtree(d)
        continue
    failed += 1
    print("not ok %d - %s" % (n, label))
    print("#   template: %r" % t["template"])
    if t.get("partials"):
        print("#   partials: %r" % t["partials"])
    print("#   data: %s" % json.dumps(t["data"]))
    print("#   exit status %d" % p.returncode)
    for line in p.stderr.decode("utf-8", "replace").splitlines():
        print("#   stderr: %s" % line)
    got = p.stdout.decode("utf-8", "replace")
    for line in difflib.unified_diff(t["expected"].splitlines(True),
                                     got.splitlines(True),
                                     "expected", "got", lineterm=""):
        print("#   %r" % line)
sys.exit(1 if failed else 0)
EOF
