"""`python tools/mutants/check.py MODULE ID,ID TESTS...`: does a new test kill these mutants?

Copies the working tree's tests/ into a second scratch worktree (CHK), puts each mutant in
there and runs TESTS; KILLED when they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from run import load  # tools/mutants/run.py, beside this file

CHK = Path(os.environ.get("CHK", "/work/mut7check"))
HERE = Path(__file__).resolve().parent.parent.parent


def main() -> None:
    """Run the named mutants of one file against the given tests."""
    mutants = load(sys.argv[1]).MUTANTS
    ids, tests = sys.argv[2].split(","), sys.argv[3:]
    for test_file in (HERE / "tests").glob("*.py"):
        shutil.copy(test_file, CHK / "tests" / test_file.name)
    for mutant_id, path, old, new, _ in mutants:
        if mutant_id not in ids:
            continue
        target = CHK / path
        source = target.read_text()
        assert source.count(old) == 1, mutant_id
        target.write_text(source.replace(old, new))
        try:
            run = subprocess.run(
                ["timeout", "600", "nice", "-n", "10", ".venv/bin/pytest", "-q", "-x",
                 "-p", "no:cacheprovider", "-o", "addopts=", *tests],
                cwd=CHK, capture_output=True, text=True, check=False)
        finally:
            target.write_text(source)
        verdict = "KILLED" if run.returncode == 1 else f"rc{run.returncode}"
        print(mutant_id, verdict, run.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
