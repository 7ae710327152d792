#!/usr/bin/env python3
"""run.py - time dmbuild against ninja and make on one generated project.

Usage:
  run.py [--atoms N] [--runs R] [--full-runs R] [--warmup W] [--write FILE]
  run.py --check [--atoms N]

bench/gen.py writes a project of N atoms (per-entity templates x entities,
plus 2 aggregates) with a DMfile for dmbuild and an equivalent build.ninja
and Makefile that run one `dmbuild render` process per output.  Each tool
gets its own copy of the tree.  For each tool this measures

  full   a build from a clean tree (outputs, dmbuild's .dmbuild/ cache and
         manifest, ninja's .ninja_log all moved aside first);
  noop   a build right after a complete one;
  edit   a build after `gen.py --edit` changed the type of one field of one
         entity; every run edits a different entity, so no run can be served
         from dmbuild's cache.

Invariants:
  - The runs are interleaved (run i of every tool, then run i+1, each round
    starting with the next tool), so drift in the load of a shared machine
    spreads over all tools alike.
  - The first W runs of each phase are warm-ups and are not counted.
  - If the first round of full builds shows that the requested rounds would
    overrun --budget (default 23 minutes), fewer are measured (never fewer
    than MIN_FULL), and the report says so.
  - Wall time is taken around the whole run (including /usr/bin/time's own
    exec, about 1 ms, alike for every tool); peak RSS is /usr/bin/time's %M
    (ru_maxrss): the largest single process among the tool and the children
    it waited for (for ninja and make: ninja/make itself, /bin/sh, or one
    `dmbuild render`), not a sum.
  - The outputs of all tools are compared byte for byte after the full
    builds and again after the edits; any difference, a failed build, or a
    no-op that rebuilds anything stops the run with status 1.
  - The dmbuild binary is copied into the work directory first, so a
    rebuild of the source tree during the run cannot change what is timed.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen.py")
TIME = "/usr/bin/time"
RESERVE = 150
MIN_FULL = 3

PROGRESS = re.compile(r"^\[\s*\d+/\d+\]\s+\S+\s+(\S+)\s*$")
MAKE_RENDER = re.compile(r" render \S+ \S+ > (\S+)\s*$")


def die(msg):
    print("run.py: " + msg, file=sys.stderr)
    sys.exit(1)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw).stdout


def first_line(cmd):
    try:
        return sh(cmd).splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def machine_facts(dmbuild, work):
    cpu = "unknown"
    mem = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fp:
            for line in fp:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fp:
            for line in fp:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
                    break
    except OSError:
        pass
    fs = "unknown"
    try:
        dev, fs = sh(["df", "-T", work]).splitlines()[1].split()[:2]
        if fs == "ext4":
            name = os.path.basename(dev)
            jbd = os.listdir("/proc/fs/jbd2") if os.path.isdir("/proc/fs/jbd2") else []
            fs += " (journal)" if any(j.startswith(name + "-") for j in jbd) \
                else " (no journal)"
    except (OSError, subprocess.CalledProcessError, IndexError, ValueError):
        pass
    commit = first_line(["git", "-C", TOP, "rev-parse", "--short", "HEAD"])
    try:
        if sh(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"]).strip():
            commit += " + uncommitted changes"
    except (OSError, subprocess.CalledProcessError):
        pass
    st = os.stat(dmbuild)
    built = datetime.datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M")
    cflags = "unknown"
    try:
        with open(os.path.join(TOP, "config.mk"), encoding="utf-8") as fp:
            for line in fp:
                if line.startswith("OPT_CFLAGS"):
                    cflags = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "filesystem": fs,
        "dmbuild": "%s (tree at %s; binary of %s, %d KiB, %s)"
                   % (first_line([dmbuild, "--version"]), commit, built, st.st_size // 1024,
                      cflags),
        "ninja": first_line(["ninja", "--version"]),
        "make": first_line(["make", "--version"]),
        "gcc": first_line(["gcc", "--version"]),
        "python": platform.python_version(),
    }


class Tool:
    def __init__(self, label, kind, argv, tree, grave):
        self.slug = os.path.basename(tree)
        self.grave = grave
        self.cleaned = 0
        self.label = label
        self.kind = kind
        self.argv = argv
        self.tree = tree
        self.res = {"full": [], "noop": [], "edit": []}
        self.edits = []

    def clean(self):
        """Move what a build wrote aside; it is deleted with the work dir.

        Deleting 10,000 files just before creating 10,000 more makes each
        create slow on ext4 without a journal (the inode allocator skips,
        one buffer lookup at a time, every inode freed in the last seconds),
        which would add the same large constant to every tool's full build.
        """
        self.cleaned += 1
        dest = os.path.join(self.grave, "%s-%d" % (self.slug, self.cleaned))
        os.makedirs(dest)
        for name in ("out", ".dmbuild", "generation_manifest.json",
                     ".ninja_log", ".ninja_deps"):
            p = os.path.join(self.tree, name)
            if os.path.lexists(p):
                os.rename(p, os.path.join(dest, name))

    def rebuilt(self, log):
        """The outputs the tool says it wrote, from its log."""
        paths = []
        for line in log.splitlines():
            if self.kind == "make":
                m = MAKE_RENDER.search(line)
            else:
                m = PROGRESS.match(line)
            if m:
                paths.append(m.group(1))
        return paths


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def measure(argv, cwd, env, timeout, logpath):
    """Run argv in cwd; return (wall seconds, peak RSS KiB, status, log).

    Peak RSS comes from /usr/bin/time, not from our own wait4: a child forked
    from this Python process carries Python's resident set until it execs,
    and the kernel counts that high-water mark in ru_maxrss.
    """
    rsspath = logpath + ".rss"
    with open(logpath, "w+b") as log:
        t0 = time.perf_counter()
        p = subprocess.Popen([TIME, "-f", "%M", "-o", rsspath] + argv, cwd=cwd, env=env,
                             stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        timer = threading.Timer(timeout, kill_group, (p.pid,))
        timer.start()
        p.wait()
        wall = time.perf_counter() - t0
        timer.cancel()
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    with open(rsspath, encoding="utf-8") as fp:
        rss = int(fp.read().split()[-1])
    return wall, rss, p.returncode, text


def run_once(tool, phase, env, a, expect=None):
    logpath = os.path.join(a.work, "log-%s-%s.txt" % (tool.slug, phase))
    wall, rss, rc, log = measure(tool.argv, tool.tree, env, a.timeout, logpath)
    if rc != 0:
        die("%s (%s) exited %d in %s; log: %s\n%s"
            % (tool.label, phase, rc, tool.tree, logpath, log[-2000:]))
    paths = tool.rebuilt(log)
    return {"wall": wall, "rss": rss, "count": len(paths), "paths": paths, "expect": expect}


def compare_trees(tools, a, when):
    ref = tools[0]
    for t in tools[1:]:
        r = subprocess.run(["diff", "-rq", os.path.join(ref.tree, "out"),
                            os.path.join(t.tree, "out")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            die("outputs differ %s: %s vs %s:\n%s"
                % (when, ref.label, t.label, r.stdout[:2000]))
    if a.verbose:
        print("outputs identical %s (%d tools)" % (when, len(tools)), file=sys.stderr)


def setup(a):
    os.makedirs(a.work, exist_ok=True)
    bindir = os.path.join(a.work, "bin")
    os.makedirs(bindir, exist_ok=True)
    dm = os.path.join(bindir, "dmbuild")
    shutil.copy2(a.dmbuild, dm)
    entities = max(1, round((a.atoms - 2) / a.templates))
    src = os.path.join(a.work, "src")
    if os.path.exists(src):
        shutil.rmtree(src)
    subprocess.run([sys.executable, GEN, src, "--entities", str(entities),
                    "--templates", str(a.templates), "--seed", str(a.seed),
                    "--dmbuild", dm], check=True)
    specs = [("dmbuild -j 2", "dmbuild", [dm, "-j", "2"]),
             ("dmbuild", "dmbuild", [dm]),
             ("ninja -j 2", "ninja", ["ninja", "-j", "2"]),
             ("make -j2", "make", ["make", "-j2"])]
    if a.check:
        specs = [specs[0], specs[2], specs[3]]
    tools = []
    for i, (label, kind, argv) in enumerate(specs):
        tree = os.path.join(a.work, "tree%d-%s" % (i, kind))
        if os.path.exists(tree):
            shutil.rmtree(tree)
        shutil.copytree(src, tree)
        tools.append(Tool(label, kind, argv, tree, os.path.join(a.work, "grave")))
    env = dict(os.environ)
    env.update({"DMBUILD_DATADIR": TOP, "NO_COLOR": "1", "LC_ALL": "C"})
    with open(os.path.join(src, "bench.json"), encoding="utf-8") as fp:
        meta = json.load(fp)
    return tools, env, meta, dm


def size_full_phase(a, total, round_secs):
    """Fewer full-build rounds if the requested ones would overrun --budget.

    The no-op and edit phases are small next to the full builds; RESERVE
    seconds are kept for them.  Never fewer than MIN_FULL measured rounds.
    """
    left = a.budget - (time.time() - a.t0) - RESERVE
    done = max(a.warmup, 1)
    fit = done + int(left // round_secs) if round_secs > 0 else total
    new = min(total, max(fit, a.warmup + MIN_FULL))
    if new < total:
        a.full_runs = new - a.warmup
        a.notes.append("The machine was slow (one round of full builds took %.0f s), so "
                       "only %d full builds per tool were measured instead of %d, to "
                       "stay within the %.0f s budget."
                       % (round_secs, a.full_runs, total - a.warmup, a.budget))
        print("run.py: " + a.notes[-1], file=sys.stderr)
    return new


def render_cost(dm, src, meta, env, n=40):
    """Mean wall time of one `dmbuild render` process (of a per-entity
    template), run from a shell loop as ninja and make run them."""
    data = "data/%s.json" % meta["names"][0]
    tmpl = "templates/" + meta["kinds"][0][1]
    script = 'i=0; while [ $i -lt %d ]; do "$0" render %s %s >/dev/null || exit 1; ' \
             'i=$((i+1)); done' % (n, tmpl, data)
    t0 = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", script, dm], cwd=src, env=env, check=True)
    return (time.perf_counter() - t0) / n


def cpu_ticks():
    """(busy, total) clock ticks of the whole machine, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="utf-8") as fp:
            v = [int(x) for x in fp.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(v) - v[3] - v[4], sum(v)


def edit_tree(tree, entity):
    out = subprocess.run([sys.executable, GEN, "--edit", tree, "--entity", str(entity)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def edit_entity(i, n):
    """A different entity for every run, spread over the spec."""
    step = 389 if n > 389 else 1
    return (7 + i * step) % n


def bench(a):
    tools, env, meta, dm = setup(a)
    n = meta["entities"]
    facts = machine_facts(dm, a.work)
    facts["render"] = render_cost(dm, os.path.join(a.work, "src"), meta, env)
    load0 = os.getloadavg()
    ticks0, times0 = cpu_ticks(), os.times()
    log = sys.stderr

    def phase(name, total, before=None):
        i = 0
        while i < total:
            if name == "full" and i == max(a.warmup, 1):
                total = size_full_phase(a, total, time.time() - round_start)
            round_start = time.time()
            warm = i < a.warmup
            info = before(i) if before else None
            # Each round starts with another tool, so no tool always runs
            # right after the same neighbour (write-back, cache state).
            for t in tools[i % len(tools):] + tools[:i % len(tools)]:
                if name == "full":
                    t.clean()
                e = None
                if info is not None:
                    e = edit_tree(t.tree, info)
                    t.edits.append(e)
                r = run_once(t, name, env, a)
                if e is not None:
                    want = e["expect_dmbuild"] if t.kind == "dmbuild" else e["expect_file_level"]
                    r["expect"] = sorted(want)
                    r["ok"] = sorted(r["paths"]) == r["expect"]
                if name == "noop" and r["count"] != 0:
                    die("%s rebuilt %d outputs on a no-op build" % (t.label, r["count"]))
                if name == "full" and r["count"] != meta["atoms"]:
                    die("%s built %d outputs, expected %d" % (t.label, r["count"], meta["atoms"]))
                if not warm:
                    t.res[name].append(r)
                print("  %-5s %s%-13s %8.3f s %8d KiB %6d rebuilt"
                      % (name, "warm " if warm else "run  ", t.label, r["wall"], r["rss"],
                         r["count"]), file=log, flush=True)
            i += 1

    print("run.py: %d atoms (%d entities x %d templates + 2); work dir %s"
          % (meta["atoms"], n, meta["templates"], a.work), file=log)
    def stage(what):
        print("run.py: %s done at %.0f s" % (what, time.time() - a.t0), file=log, flush=True)

    stage("setup")
    phase("full", a.warmup + a.full_runs)
    stage("full builds")
    compare_trees(tools, a, "after the full builds")
    phase("noop", a.warmup + a.runs)
    stage("no-op builds")
    phase("edit", a.warmup + a.runs, before=lambda i: edit_entity(i, n))
    stage("edit builds")
    compare_trees(tools, a, "after the edits")
    stage("comparison")
    elapsed = time.time() - a.t0
    ticks1, times1 = cpu_ticks(), os.times()
    if ticks0 and ticks1:
        hz = os.sysconf("SC_CLK_TCK")
        busy = (ticks1[0] - ticks0[0]) / hz
        span = (ticks1[1] - ticks0[1]) / hz
        ours = (times1.children_user + times1.children_system + times1.user + times1.system
                - times0.children_user - times0.children_system - times0.user - times0.system)
        facts["others"] = (max(0.0, busy - ours), span)
    return tools, meta, facts, load0, os.getloadavg(), elapsed


def check(a):
    """Build with every tool, compare, edit, rebuild, compare again."""
    tools, env, meta, _ = setup(a)
    n = meta["entities"]
    failed = 0
    passed = 0

    def ok(cond, what):
        nonlocal failed, passed
        if cond:
            passed += 1
            print("ok - " + what)
        else:
            failed += 1
            print("not ok - " + what)

    for t in tools:
        r = run_once(t, "full", env, a)
        ok(r["count"] == meta["atoms"], "%s builds all %d outputs (%d)"
           % (t.label, meta["atoms"], r["count"]))
    compare_trees(tools, a, "after the full builds")
    ok(True, "outputs byte-identical after the full builds")
    for t in tools:
        r = run_once(t, "noop", env, a)
        ok(r["count"] == 0, "%s no-op rebuilds nothing" % t.label)
    for k in range(2):
        ent = edit_entity(k, n)
        for t in tools:
            e = edit_tree(t.tree, ent)
            r = run_once(t, "edit", env, a)
            want = e["expect_dmbuild"] if t.kind == "dmbuild" else e["expect_file_level"]
            got = sorted(r["paths"])
            ok(got == want, "%s edit of %s.%s rebuilds the %d expected outputs%s"
               % (t.label, e["entity"], e["field"], len(want),
                  "" if got == want else " (wanted %s, got %s)" % (want, got)))
        compare_trees(tools, a, "after edit %d" % (k + 1))
        ok(True, "outputs byte-identical after edit %d" % (k + 1))
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0


def med(rs, key):
    return statistics.median(r[key] for r in rs)


def fmt_s(x):
    if x < 1:
        return "%.0f ms" % (x * 1000)
    return "%.2f s" % x


def fmt_mib(kib):
    return "%.1f MiB" % (kib / 1024)


LLM_N, LLM_K, LLM_LATENCY = 1000, (50, 100, 200), 250


def llm_bench(a):
    """bench/llm-bench against the loopback stub: [(k, efficiency, text
    line)] and the raw output, or None when it is not built."""
    prog = os.path.join(HERE, "llm-bench")
    if not os.access(prog, os.X_OK):
        print("run.py: bench/llm-bench not built (make bench builds it); skipped",
              file=sys.stderr)
        return None
    cmd = [prog, "-n", str(LLM_N), "-k", ",".join(str(k) for k in LLM_K),
           "-l", str(LLM_LATENCY)]
    r = subprocess.run(cmd, cwd=os.path.dirname(HERE), capture_output=True, text=True,
                       timeout=600)
    rows = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].isdigit() and f[5].endswith("%"):
            rows.append((int(f[1]), float(f[5][:-1]) / 100.0))
    print("run.py: llm-bench: %s" % ", ".join("K=%d %.3f" % x for x in rows), file=sys.stderr)
    return {"cmd": " ".join(["bench/llm-bench"] + cmd[1:]), "out": r.stdout.strip(),
            "rows": rows, "status": r.returncode}


def report(a, tools, meta, facts, load0, load1, elapsed, llm=None):
    ninja = next(t for t in tools if t.kind == "ninja")
    dms = [t for t in tools if t.kind == "dmbuild"]
    phases = [("full", "full build from clean"), ("noop", "no-op build"),
              ("edit", "one-entity edit")]
    L = []
    w = L.append
    w("# dmbuild performance\n")
    w("Generated by `bench/run.py%s` on %s; rerun it rather than edit this file."
      % (" " + " ".join(a.argv_shown) if a.argv_shown else "",
         datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    w("")
    w("A synthetic project of **%d atoms**: %d entities (5 to 12 fields each) x %d "
      "per-entity templates (%s), plus 2 aggregates (`out/registry.py` reads only "
      "entity names, `out/docs/fields.md` reads every field).  `bench/gen.py` writes "
      "it three ways over the same outputs: a DMfile + spec.yaml for dmbuild, and a "
      "`build.ninja` and a `Makefile` that run one `dmbuild render TEMPLATE "
      "data/NAME.json > OUT` process per output (per-entity outputs depend on their "
      "entity's JSON and template, aggregates on `data/all.json`).  The outputs of "
      "all tools are compared byte for byte after the full builds and after the edits."
      % (meta["atoms"], meta["entities"], meta["templates"],
         ", ".join(k[0] for k in meta["kinds"])))
    w("")
    w("## Machine\n")
    w("| | |\n|---|---|")
    for k in ("nproc", "cpu", "memory", "kernel", "filesystem", "dmbuild", "ninja",
              "make", "gcc", "python"):
        w("| %s | %s |" % (k, facts[k].replace("|", "/")))
    w("| load average | %.2f at the start, %.2f at the end (shared machine) |"
      % (load0[0], load1[0]))
    w("| one `dmbuild render` process | %.1f ms (mean of 40 in a shell loop: the unit of "
      "work of the ninja and make builds) |" % (facts["render"] * 1000))
    if "others" in facts:
        o, span = facts["others"]
        w("| CPU used by other processes | %.0f CPU-seconds during the run, %.0f%% of "
          "the machine |" % (o, 100 * o / span if span else 0))
    w("| benchmark time | %.0f s (setup and every run, not the final clean-up) |" % elapsed)
    w("")
    w("## Commands\n")
    w("Each tool runs in its own copy of the tree (the working directory):\n")
    for t in tools:
        w("- `%s`" % " ".join(["dmbuild" if x.endswith("/dmbuild") else x for x in t.argv]))
    w("")
    w("dmbuild's default `-j` is the number of online CPUs (%s here), so where both "
      "dmbuild columns appear they run the same configuration and their difference "
      "is the noise of the machine." % facts["nproc"])
    w("")
    w("- **full**: before each run, `out/`, `.dmbuild/`, `generation_manifest.json`, "
      "`.ninja_log` and `.ninja_deps` are moved out of the tree (no cache can help). "
      "They are moved, not deleted, because on a journal-less ext4 creating files "
      "seconds after deleting thousands is slow for every tool alike (the inode "
      "allocator steps over each recently freed inode).")
    w("- **no-op**: right after a complete build; every tool must rebuild nothing.")
    w("- **edit**: `bench/gen.py --edit TREE --entity I` first changes the type of one "
      "field of entity I in `spec.yaml`, `data/NAME.json` and `data/all.json` alike "
      "(not timed); every run edits a **different** entity (I = 7 + 389 k mod %d), "
      "so dmbuild's content-addressed cache never has the answer."
      % meta["entities"])
    w("- %d warm-up run%s per phase, then measured runs per tool: %d full builds, "
      "%d no-op builds and as many edit builds; runs interleave the tools, each "
      "round starting with the next one.  Numbers are **medians**.  Wall time "
      "includes `/usr/bin/time`'s exec (about 1 ms, alike for all).  Peak RSS is "
      "`/usr/bin/time -f %%M` (`ru_maxrss`): the largest single process of the "
      "tool's tree (for ninja and make: the tool itself, `/bin/sh` or one "
      "`dmbuild render`), not a sum."
      % (a.warmup, "" if a.warmup == 1 else "s", a.full_runs, a.runs))
    w("")
    for note in a.notes:
        w("**Note:** " + note + "\n")
    w("## Wall time (median)\n")
    head = "| | " + " | ".join(t.label for t in tools) + " | " + \
        " | ".join("%s / ninja" % t.label for t in dms) + " |"
    w(head)
    w("|---" * (1 + len(tools) + len(dms)) + "|")
    for p, title in phases:
        nm = med(ninja.res[p], "wall")
        row = [fmt_s(med(t.res[p], "wall")) for t in tools]
        rat = ["%.2f" % (med(t.res[p], "wall") / nm) for t in dms]
        w("| %s | %s | %s |" % (title, " | ".join(row), " | ".join(rat)))
    w("")
    w("Spread (min to max) of the measured runs:\n")
    w("| | " + " | ".join(t.label for t in tools) + " |")
    w("|---" * (1 + len(tools)) + "|")
    for p, title in phases:
        w("| %s | %s |" % (title, " | ".join(
            "%s to %s" % (fmt_s(min(r["wall"] for r in t.res[p])),
                          fmt_s(max(r["wall"] for r in t.res[p]))) for t in tools)))
    w("")
    w("## Peak RSS (median)\n")
    w("ninja's and make's own footprint is their no-op figure; in the full and edit "
      "builds their peak is the largest child, a `dmbuild render` of an aggregate over "
      "`data/all.json`.\n")
    w(head)
    w("|---" * (1 + len(tools) + len(dms)) + "|")
    for p, title in phases:
        nm = med(ninja.res[p], "rss")
        row = [fmt_mib(med(t.res[p], "rss")) for t in tools]
        rat = ["%.2f" % (med(t.res[p], "rss") / nm) for t in dms]
        w("| %s | %s | %s |" % (title, " | ".join(row), " | ".join(rat)))
    w("")
    w("## Outputs rebuilt by a one-entity edit\n")
    w("Counted from each tool's output: dmbuild's `[n/N]` lines, ninja's `[n/N]` "
      "lines, make's echoed `dmbuild render` commands.  An edit of one field type "
      "should rebuild, under dmbuild, exactly the atoms that read it: the entity's "
      "%s outputs and `out/docs/fields.md` (%d); ninja and make, which see files, "
      "rebuild every output of the entity and both aggregates (%d).\n"
      % ("/".join(k[0] for k in meta["kinds"] if k[3]),
         len(dms[0].res["edit"][0]["expect"]),
         len(ninja.res["edit"][0]["expect"])))
    w("| | " + " | ".join(t.label for t in tools) + " |")
    w("|---" * (1 + len(tools)) + "|")
    w("| rebuilt per run | %s |" % " | ".join(
        ", ".join(str(r["count"]) for r in t.res["edit"]) for t in tools))
    w("| exactly the expected set | %s |" % " | ".join(
        "yes" if all(r["ok"] for r in t.res["edit"]) else "**no**" for t in tools))
    w("")
    ex = dms[0].res["edit"][0]
    if ex:
        e = dms[0].edits[a.warmup]
        w("For example, run 1 changed `%s.%s` from `%s` to `%s`; dmbuild rebuilt %s."
          % (e["entity"], e["field"], e["old"], e["new"],
             ", ".join("`%s`" % p for p in ex["paths"])))
        w("")
    w("## Targets\n")
    w("| target | result | met |")
    w("|---|---|---|")
    for t in dms:
        nm, dn = med(ninja.res["noop"], "wall"), med(t.res["noop"], "wall")
        w("| `%s` no-op <= ninja's no-op | %s vs %s | %s |"
          % (t.label, fmt_s(dn), fmt_s(nm), "yes" if dn <= nm else "**no**"))
    for t in dms:
        ne, de = med(ninja.res["edit"], "wall"), med(t.res["edit"], "wall")
        w("| `%s` one-entity edit <= ninja's time for it | %s vs %s (%.2fx) | %s |"
          % (t.label, fmt_s(de), fmt_s(ne), de / ne, "yes" if de <= ne else "**no**"))
    for t in dms:
        good = all(r["ok"] for r in t.res["edit"])
        w("| `%s` edit rebuilds exactly the atoms that read the field | %s | %s |"
          % (t.label, ", ".join(str(r["count"]) for r in t.res["edit"]),
             "yes" if good else "**no**"))
    for t in dms:
        nf, df = med(ninja.res["full"], "wall"), med(t.res["full"], "wall")
        w("| `%s` full build >= 10x faster than ninja | %.1fx (%s vs %s) | %s |"
          % (t.label, nf / df, fmt_s(df), fmt_s(nf), "yes" if nf >= 10 * df else "**no**"))
    for t in dms:
        worst = max(med(t.res[p], "rss") / med(ninja.res[p], "rss") for p, _ in phases)
        w("| `%s` peak RSS within 2x of ninja's (every phase) | worst %.1fx | %s |"
          % (t.label, worst, "yes" if worst <= 2 else "**no**"))
    if llm and llm["rows"]:
        at100 = dict(llm["rows"]).get(100)
        if at100 is not None:
            w("| LLM transport efficiency at 100 requests in flight >= 0.9 | %.3f | %s |"
              % (at100, "yes" if at100 >= 0.9 else "**no**"))
    w("")
    if llm:
        w("## LLM transport\n")
        w("`%s`: %d requests through `src/llm.c` (libcurl multi on one engine thread) to "
          "the loopback stub `tests/stub/llm_stub.py`, which answers each after %d ms; "
          "efficiency = ideal wall time (N / K x latency) / measured wall time.  The "
          "stub is one Python process, whose CPU per request bounds what it can serve "
          "at large K on two cores.\n" % (llm["cmd"], LLM_N, LLM_LATENCY))
        w("```")
        w(llm["out"])
        w("```")
        w("")
    w("## Rerunning\n")
    w("- `python3 bench/run.py --write doc/performance.md`: this page at the default "
      "10,002 atoms (5 to 15 minutes on this machine, most of it ninja's and make's "
      "full builds, plus a minute to delete the work directory).")
    w("- `python3 bench/run.py --atoms 1002`: a tenth of the size, in a minute or "
      "two; prints the page without writing it.")
    w("- `python3 bench/run.py --check --atoms 1002`: only checks that dmbuild, ninja "
      "and make produce byte-identical trees, before and after two edits, and that "
      "each rebuilds what it should.")
    w("- `bench/profile.sh`: callgrind profiles of dmbuild's full, no-op and edit "
      "builds, with the top functions by own and inclusive cost.")
    w("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--atoms", type=int, default=10002,
                    help="approximate atom count (default 10002)")
    ap.add_argument("--templates", type=int, default=4,
                    help="per-entity templates (default 4)")
    ap.add_argument("--seed", type=int, default=1, help="gen.py's seed (default 1)")
    ap.add_argument("--runs", type=int, default=7,
                    help="measured no-op and edit runs per tool (default 7)")
    ap.add_argument("--full-runs", type=int, default=5,
                    help="measured full builds per tool (default 5)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured runs before each phase (default 1)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds any one build may take")
    ap.add_argument("--budget", type=float, default=1380,
                    help="seconds for the whole benchmark; fewer full builds (at least "
                    "%d) are measured when the first round shows they would not fit "
                    "(default 1380)" % MIN_FULL)
    ap.add_argument("--dmbuild", default=os.path.join(TOP, "dmbuild"),
                    help="the binary to time (default: the one in the source tree)")
    ap.add_argument("--work", help="work directory (default: a new one in $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--write", metavar="FILE", help="write the report (Markdown) to FILE")
    ap.add_argument("--check", action="store_true",
                    help="only check that the three builds agree (TAP-like output)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="say when output trees were compared")
    a = ap.parse_args()
    a.argv_shown = [x for x in sys.argv[1:]]
    a.t0 = time.time()
    a.notes = []
    if not os.access(a.dmbuild, os.X_OK):
        die("%s is not an executable: build dmbuild first" % a.dmbuild)
    for prog, pkg in (("ninja", "ninja-build"), ("make", "make"), (TIME, "time")):
        if shutil.which(prog) is None:
            die("%s is not installed (apt-get install %s)" % (prog, pkg))
    if a.runs < 1 or a.full_runs < 1 or a.warmup < 0:
        die("--runs and --full-runs must be at least 1, --warmup at least 0")
    made = a.work is None
    if made:
        a.work = tempfile.mkdtemp(prefix="dmbench.")
    a.work = os.path.abspath(a.work)
    done = False
    try:
        if a.check:
            done = check(a)
            return 0 if done else 1
        tools, meta, facts, load0, load1, elapsed = bench(a)
        llm = llm_bench(a)
        text = report(a, tools, meta, facts, load0, load1, elapsed, llm)
        print(text)
        if a.write:
            with open(a.write, "w", encoding="utf-8") as fp:
                fp.write(text)
            print("run.py: wrote %s" % a.write, file=sys.stderr)
        done = True
        return 0
    finally:
        if made and done and not a.keep:
            subprocess.run(["rm", "-rf", a.work])
            print("run.py: removed the work directory at %.0f s" % (time.time() - a.t0),
                  file=sys.stderr)
        else:
            print("run.py: work directory kept: %s" % a.work, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
