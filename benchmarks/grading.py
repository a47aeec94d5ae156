#!/usr/bin/env python3
"""Grading throughput: N synthetic submissions of one assignment, graded as `make grade JOBS=N` does.

    python benchmarks/grading.py [--n 8] [--jobs 1 2] [--assignment ID] [--no-sandbox] [--all-cells]

Defaults to the heaviest assignment (the largest quick-mode budget the chapters state in their
metadata).  Half the submissions are the instructor's solutions, half carry typical mistakes (each
exercise in turn left as the stub or answered with a sign error).  For each JOBS value, a fresh
course folder is released, the submissions are zipped into ``downloaded/``, and
``coursekit.grade`` runs (offline when started through ``scripts/offline``); the script prints
submissions per minute, the extrapolation to a class of 200, and the score distribution.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import coursekit  # noqa: E402


def heaviest() -> str:
    """The assignment whose chapter states the largest quick-mode budget."""
    budgets = {aid: json.loads(path.read_text()).get("metadata", {}).get("rlvae", {}).get("budget_quick_s", 0)
               for aid, path in coursekit.assignments().items()}
    return max(budgets, key=budgets.get)


def mistake(solution: str) -> str:
    """A typical wrong answer for a solution body: the value of its last return, negated."""
    lines = solution.rstrip().split("\n")
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped.startswith("return "):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = f"{indent}return -({stripped[len('return '):]})"
            return "\n".join(lines) + "\n"
    return solution


def submissions(aid: str, released: dict, source: dict, n: int) -> dict[str, dict]:
    """``n`` notebooks: even ones right, odd ones with exercise k stubbed or sign-flipped."""
    solutions = [c for c in coursekit.nbgrader_cells(source) if c["metadata"]["nbgrader"].get("solution")]
    out = {}
    for i in range(n):
        answers = {}
        if i % 2:
            cell = solutions[(i // 2) % len(solutions)]
            body = coursekit.solution_body("".join(cell["source"]))
            head = body.split("\n", 1)[0]
            wrong = f"{head}\n    raise NotImplementedError()\n" if (i // 2) % 2 else mistake(body)
            answers[cell["metadata"]["nbgrader"]["grade_id"]] = wrong
        out[f"s{i:03d}"] = coursekit.fill_solutions(released, source, answers)
    return out


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the graders, the kernels)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(aid: str, n: int, jobs: int, sandbox: bool, all_cells: bool) -> tuple[float, float, list[float]]:
    """Release, submit and grade in a fresh course folder; (wall seconds, CPU seconds, scores)."""
    path = coursekit.assignments()[aid]
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
        folder = course / "source" / aid
        folder.mkdir(parents=True)
        shutil.copy2(path, folder / path.name)
        coursekit.nbgrader(["generate_assignment", aid, "--force"], course)
        released = json.loads((course / "release" / aid / path.name).read_text())
        archive = course / "downloaded" / aid / "archive"
        archive.mkdir(parents=True)
        with zipfile.ZipFile(archive / "lms.zip", "w") as zf:
            for student, nb in submissions(aid, released, json.loads(path.read_text()), n).items():
                zf.writestr(f"submissions/{student}__{path.name}", json.dumps(nb))
        start, cpu = time.perf_counter(), _cpu()
        coursekit.grade([aid], course, jobs=jobs, sandbox=sandbox, all_cells=all_cells)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        with open(course / "grades.csv", newline="") as f:
            scores = [float(r["score"]) for r in csv.DictReader(f) if r["assignment"] == aid]
    return seconds, cpu, scores


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8, help="submissions")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="JOBS values to compare")
    parser.add_argument("--assignment", default=None, help="default: the heaviest")
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--all-cells", action="store_true", help="run the whole chapter, not only its exercises")
    args = parser.parse_args(argv)
    aid = args.assignment or heaviest()
    total = coursekit.points(json.loads(coursekit.assignments()[aid].read_text()))
    print(f"{aid}: {args.n} submissions ({total:g} points each), {os.cpu_count()} CPUs, "
          f"sandbox {'off' if args.no_sandbox else 'on'}, {'all cells' if args.all_cells else 'exercises only'}")
    for jobs in args.jobs:
        seconds, cpu, scores = run(aid, args.n, jobs, not args.no_sandbox, args.all_cells)
        rate = 60 * args.n / seconds
        dist = sorted(collections.Counter(scores).items())
        per = cpu / args.n
        print(f"JOBS={jobs}: {seconds:.0f} s wall, {rate:.1f} submissions/minute (200 would take {200 / rate:.0f} min "
              f"at this rate); {per:.1f} CPU-s per submission, so 200 need {200 * per / 60:.0f} CPU-min: "
              f"{200 * per / 60 / 2:.0f} min on 2 free cores; scores {', '.join(f'{s:g}: {c}' for s, c in dist)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
