"""`python tools/mutants/check.py MODULE ID,ID TESTS...`: does a new test kill these mutants?

Copies the working tree's tests/ into a second scratch worktree (CHK), puts each mutant in
there and runs TESTS; KILLED when they fail.
"""
import subprocess, sys, importlib.util, os, shutil
CHK = os.environ.get("CHK", "/work/mut7check")
HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("m", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
ids = sys.argv[2].split(","); tests = sys.argv[3:]
for f in os.listdir(f"{HERE}/tests"):
    if f.endswith(".py"): shutil.copy(f"{HERE}/tests/{f}", f"{CHK}/tests/{f}")
for mid, path, old, new, _ in m.MUTANTS:
    if mid not in ids: continue
    full = f"{CHK}/{path}"; src = open(full).read(); assert src.count(old) == 1, mid
    open(full, "w").write(src.replace(old, new))
    try:
        p = subprocess.run(["timeout", "600", "nice", "-n", "10", ".venv/bin/pytest", "-q", "-x", "-p", "no:cacheprovider", "-o", "addopts=", *tests], cwd=CHK, capture_output=True, text=True)
    finally:
        open(full, "w").write(src)
    print(mid, "KILLED" if p.returncode == 1 else f"rc{p.returncode}", p.stdout.strip().splitlines()[-1], flush=True)
