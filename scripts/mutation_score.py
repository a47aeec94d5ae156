"""Mutation score per module from mutmut's results (``make mutation`` prints it).

Reads ``mutants/**/*.py.meta`` (mutmut 3) and prints, for every module with mutants checked:
killed (a test failed), timeout (the tests ran past mutmut's limit: a mutant that hangs, or a
slow test on a busy machine; rerun those alone), survived (the tests passed, or no test reaches
the mutated function), not yet checked, and the score killed / checked, timeouts not counted as
killed.
Usage: ``python scripts/mutation_score.py [mutants_dir]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KILLED = {1, 3, 37, -11, -9}  # failed test, crash, type check
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0, 5, 33}  # tests passed, or no test reaches it


def main(folder: str = "mutants") -> int:
    rows = []
    for meta in sorted(Path(folder).glob("**/*.py.meta")):
        codes = list(json.loads(meta.read_text()).get("exit_code_by_key", {}).values())
        killed = sum(c in KILLED for c in codes)
        timeout = sum(c in TIMEOUT for c in codes)
        survived = sum(c in SURVIVED for c in codes)
        pending = sum(c is None for c in codes)
        if killed + timeout + survived:
            module = str(meta.relative_to(folder)).removesuffix(".py.meta").replace("/", ".")
            rows.append((module, killed, timeout, survived, pending))
    if not rows:
        print(f"no checked mutants under {folder}/: run `make mutation` first")
        return 1
    print(f"{'module':36} {'killed':>7} {'timeout':>8} {'survived':>9} {'pending':>8} {'score':>7}")
    for module, killed, timeout, survived, pending in rows:
        score = killed / (killed + timeout + survived)
        print(f"{module:36} {killed:7d} {timeout:8d} {survived:9d} {pending:8d} {score:7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
