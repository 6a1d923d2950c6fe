"""Hand-made mutants, one at a time: `python tools/mutants/run.py FILE [ID ...]`.

FILE is one of the mutant files, e.g. tools/mutants/m_night.py.

Each mutant file lists (id, file, text, mutated text, tests). The script puts one mutant into
a scratch worktree of the repository (SCRATCH, a `git worktree add --detach` with the .venv
linked: never the worktree you work in), runs only that mutant's tests (niced, -x, a timeout),
puts the file back, and appends caught/survived to OUT (JSON lines). Mutants already in OUT are
not run again; SLICE=a:b runs part of a file. docs/decisions.md, "Hand-made mutants", has the
last figures and why each survivor lives.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

SCRATCH = Path(os.environ.get("SCRATCH", "/work/mut7scratch"))
OUT = Path(os.environ.get("OUT", "/tmp/mut7/results.jsonl"))
STATUS = {0: "survived", 1: "caught", 124: "timeout"}


def load(path: str) -> ModuleType:
    """The mutant file, as a module (its MUTANTS list)."""
    spec = importlib.util.spec_from_file_location("mutants", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(result: dict[str, object]) -> None:
    """Print one result and append it to OUT."""
    print(json.dumps(result), flush=True)
    with OUT.open("a") as out:
        out.write(json.dumps(result) + "\n")


def main() -> None:
    """Run the chosen mutants of one file, each with its own tests."""
    mutants = load(sys.argv[1]).MUTANTS
    only = set(sys.argv[2:])
    done = ({json.loads(line)["id"] for line in OUT.read_text().splitlines()}
            if OUT.exists() else set())
    first, last = (os.environ.get("SLICE") or "0:9999").split(":")
    for mutant_id, path, old, new, tests in mutants[int(first):int(last)]:
        if (only and mutant_id not in only) or (not only and mutant_id in done):
            continue
        target = SCRATCH / path
        source = target.read_text()
        if source.count(old) != 1:
            record({"id": mutant_id, "status": f"badpattern{source.count(old)}"})
            continue
        target.write_text(source.replace(old, new))
        began = time.time()
        try:
            run = subprocess.run(
                ["timeout", "900", "nice", "-n", "10", ".venv/bin/pytest", "-q", "-x",
                 "-p", "no:cacheprovider", "-o", "addopts=", *tests.split()],
                cwd=SCRATCH, capture_output=True, text=True, check=False)
        finally:
            target.write_text(source)
        lines = run.stdout.strip().splitlines()
        record({"id": mutant_id, "status": STATUS.get(run.returncode, f"rc{run.returncode}"),
                "secs": round(time.time() - began),
                "failed": [line for line in lines if line.startswith(("FAILED", "ERROR"))][:2],
                "tail": lines[-1:]})


if __name__ == "__main__":
    main()
