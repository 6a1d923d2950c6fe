"""Hand-made mutants, one at a time: `python tools/mutants/run.py tools/mutants/m_night.py [ID ...]`.

Each mutant file lists (id, file, text, mutated text, tests). The script puts one mutant into
a scratch worktree of the repository (SCRATCH, a `git worktree add --detach` with the .venv
linked: never the worktree you work in), runs only that mutant's tests (niced, -x, a timeout),
puts the file back, and appends caught/survived to OUT (JSON lines). Mutants already in OUT are
not run again; SLICE=a:b runs part of a file. docs/decisions.md, "Hand-made mutants", has the
last figures and why each survivor lives.
"""
import json, subprocess, sys, time, importlib.util, os
SCRATCH = os.environ.get("SCRATCH", "/work/mut7scratch")
OUT = os.environ.get("OUT", "/tmp/mut7/results.jsonl")
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
only = set(sys.argv[2:])
done = {}
if os.path.exists(OUT):
    for line in open(OUT):
        r = json.loads(line); done[r["id"]] = r
a, b = (os.environ.get("SLICE") or "0:9999").split(":")
for mid, path, old, new, tests in m.MUTANTS[int(a):int(b)]:
    if only and mid not in only: continue
    if not only and mid in done: continue
    full = os.path.join(SCRATCH, path)
    src = open(full).read()
    n = src.count(old)
    if n != 1:
        print(f"{mid}: BAD PATTERN count={n}", flush=True)
        with open(OUT, "a") as f: f.write(json.dumps({"id": mid, "status": f"badpattern{n}"}) + "\n")
        continue
    open(full, "w").write(src.replace(old, new))
    t0 = time.time()
    try:
        p = subprocess.run(["timeout", "900", "nice", "-n", "10", ".venv/bin/pytest", "-q", "-x",
                            "-p", "no:cacheprovider", "-o", "addopts=", *tests.split()],
                           cwd=SCRATCH, capture_output=True, text=True)
        rc = p.returncode
        tail = p.stdout.strip().splitlines()[-3:]
    finally:
        open(full, "w").write(src)
    status = "survived" if rc == 0 else ("timeout" if rc == 124 else ("caught" if rc == 1 else f"rc{rc}"))
    failed = [l for l in p.stdout.splitlines() if l.startswith("FAILED") or l.startswith("ERROR")][:2]
    r = {"id": mid, "status": status, "secs": round(time.time() - t0), "failed": failed, "tail": tail[-1:] }
    print(json.dumps(r), flush=True)
    with open(OUT, "a") as f: f.write(json.dumps(r) + "\n")
