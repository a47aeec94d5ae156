#!/usr/bin/env python3
"""The course kit: nbgrader assignments made from the book's own notebooks.

    python scripts/coursekit.py list                    the assignments and their points
    python scripts/coursekit.py release [--course DIR]  write DIR/source/ and DIR/release/ (make assignments)
    python scripts/coursekit.py grade [ID ...] [--course DIR] [--jobs N] [--no-sandbox] [--full] [--all-cells]
                                                        zip_collect, then autograde + generate_feedback of each
                                                        submission in its own sandboxed folder, N side by
                                                        side (scripts/coursegrade.py), export
    python scripts/coursekit.py grade-one ID STUDENT --course DIR   one submission (used by grade)

One source: the chapter notebooks in book/ are the instructor versions.  Every notebook listed in
_toc.yml that contains nbgrader cells becomes one assignment, named after the notebook
(book/getting_started.ipynb -> assignment ``getting_started`` with notebook
``getting_started.ipynb``).  ``release`` copies each into ``source/<id>/`` and runs
``nbgrader generate_assignment <id> --force``, which writes the student version (solutions
replaced by ``raise NotImplementedError()``, outputs cleared, test cells locked) to
``release/<id>/``.  ``grade`` runs, for each assignment with zips in
``downloaded/<id>/archive/``, the nbgrader commands the instructor guide lists, one submission per
process and sandbox (scripts/coursegrade.py).  The nbgrader
commands run in this process, exactly as on the command line, with ``DIR`` as working directory
(where ``nbgrader_config.py`` is); DIR defaults to ``course/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/coursegrade.py
COURSE = ROOT / "course"
MARKER = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*$")


def toc_files(root: Path = ROOT) -> list[str]:
    """Every ``file:`` of ``_toc.yml``, without suffix, in order (root, then parts, chapters, sections)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def files(entries: list[dict]) -> list[str]:
        out = []
        for entry in entries:
            if "file" in entry:
                out.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                out.extend(files(entry.get(key, [])))
        return out

    return [toc["root"], *files(toc.get("parts", []) + toc.get("chapters", []))]


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks ``_toc.yml`` lists, in order, as paths."""
    return [root / f"{n}.ipynb" for n in toc_files(root) if (root / f"{n}.ipynb").exists()]


def nbgrader_cells(notebook: dict) -> list[dict]:
    """The cells carrying nbgrader metadata (solutions, tests, tasks) of a notebook (JSON dict)."""
    return [cell for cell in notebook["cells"] if "nbgrader" in cell.get("metadata", {})]


def points(notebook: dict) -> float:
    """Total points of a notebook's autograded test cells."""
    return float(sum(c["metadata"]["nbgrader"].get("points", 0) for c in nbgrader_cells(notebook)
                     if c["metadata"]["nbgrader"].get("grade")))


def assignments(root: Path = ROOT) -> dict[str, Path]:
    """``{assignment_id: notebook}`` for every toc'd notebook with nbgrader cells, in toc order."""
    found: dict[str, Path] = {}
    for path in toc_notebooks(root):
        if not nbgrader_cells(json.loads(path.read_text())):
            continue
        if path.stem in found:
            raise ValueError(
                f"two notebooks would make the assignment {path.stem!r}: {found[path.stem]} and "
                f"{path}; rename one (assignments are named after their notebook)"
            )
        found[path.stem] = path
    return found


def write_sources(course: Path = COURSE, root: Path = ROOT) -> dict[str, Path]:
    """Copy every assignment's notebook to ``course/source/<id>/<id>.ipynb``; return the copies."""
    out = {}
    for aid, path in assignments(root).items():
        folder = course / "source" / aid
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        out[aid] = Path(shutil.copy2(path, folder / path.name))
    return out


def _alembic_head() -> str:
    """The gradebook schema's alembic revision, read in this process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def nbgrader(args: list[str], course: Path = COURSE) -> None:
    """Run ``nbgrader ARGS`` in this process, in ``course``; raise ``RuntimeError`` if it fails.

    Equivalent to ``cd course && nbgrader ARGS``, without paying nbgrader's start-up (seconds) for
    every command.  One shortcut: to stamp a new gradebook, nbgrader starts an ``alembic heads``
    process only to read the schema's revision (6 s of CPU here); it is read in-process instead.
    """
    from jupyter_core.application import NoStart
    from nbgrader import api as gradebook_api
    from nbgrader.apps import NbGraderApp

    if hasattr(gradebook_api, "get_alembic_version"):
        gradebook_api.get_alembic_version = _alembic_head

    code: object = 0
    old_path = os.environ.get("PATH", "")
    # nbgrader runs `alembic` (installed beside this Python) to create or migrate the gradebook.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old_path])
    with contextlib.chdir(course):
        app = NbGraderApp.instance()
        try:
            app.initialize(list(args))
            app.start()
        except NoStart:  # raised by the dispatcher after the subcommand ran
            pass
        except SystemExit as exc:
            code = exc.code
        finally:
            app.reset()
            os.environ["PATH"] = old_path
    if code not in (0, None):
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed (exit code {code}) in {course}")


def release(course: Path = COURSE, root: Path = ROOT) -> dict[str, Path]:
    """Write the sources and generate every assignment's student version; return the released notebooks."""
    if not (course / "nbgrader_config.py").exists():
        raise FileNotFoundError(f"{course} has no nbgrader_config.py; copy course/nbgrader_config.py there")
    released = {}
    for aid, source in write_sources(course, root).items():
        nbgrader(["generate_assignment", aid, "--force"], course)
        released[aid] = course / "release" / aid / source.name
        if not released[aid].exists():
            raise RuntimeError(f"nbgrader did not write {released[aid]}")
    return released


def _has_assignment(course: Path, aid: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    if not (course / "gradebook.db").exists():
        return False
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            gb.find_assignment(aid)
        except MissingEntry:
            return False
    return True


def grade(ids: list[str] | None = None, course: Path = COURSE, jobs: int = 1, sandbox: bool | None = None,
          quick: bool = True, **limits: int | bool) -> list[str]:
    """Collect, autograde and give feedback for each assignment with zips in downloaded/; export grades.csv.

    Every submission is graded by nbgrader in a folder and a sandbox of its own, ``jobs`` at a time
    (scripts/coursegrade.py); ``sandbox=None`` uses bubblewrap and fails, naming the fix, where it
    cannot; ``quick`` runs the chapters in quick mode (the exercises and their tests are the same);
    ``limits``: ``cell_timeout``, ``run_timeout`` in seconds, ``all_cells`` (coursegrade's defaults otherwise).
    """
    import coursegrade

    if sandbox is None:
        if not coursegrade.bwrap_works():
            raise RuntimeError("grading runs each submission in a bubblewrap sandbox, and `bwrap` is missing or "
                               "cannot run here: install it (Debian: apt-get install bubblewrap; make test does) "
                               "or grade without a sandbox (coursekit.py grade --no-sandbox), trusting every "
                               "submission")
        sandbox = True
    ids = ids or sorted(p.parent.name for p in course.glob("downloaded/*/archive") if any(p.iterdir()))
    for aid in ids:
        if not _has_assignment(course, aid):
            nbgrader(["generate_assignment", aid, "--force"], course)
        coursegrade.grade_assignment(course, aid, nbgrader, jobs=jobs, sandbox=sandbox, quick=quick, **limits)
    nbgrader(["export"], course)
    return ids


def grade_one(aid: str, student: str, course: Path) -> None:
    """``nbgrader autograde`` and ``generate_feedback`` of one student's submission, in ``course``."""
    nbgrader(["autograde", aid, "--student", student, "--force"], course)
    nbgrader(["generate_feedback", aid, "--student", student, "--force"], course)


def solution_body(source: str) -> str:
    """A solution cell's source without nbgrader's ``### BEGIN/END SOLUTION`` lines."""
    return "\n".join(line for line in source.split("\n") if not MARKER.match(line))


def fill_solutions(released: dict, source: dict, answers: dict[str, str] | None = None) -> dict:
    """A student's submission: the released notebook with its solution cells filled in.

    Each solution cell gets ``answers[grade_id]`` if given, else the instructor's solution from
    ``source`` (both notebooks as JSON dicts).  Returns a new notebook dict.
    """
    answers = answers or {}
    reference = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nbgrader_cells(source)}
    unknown = set(answers) - set(reference)
    if unknown:
        raise KeyError(f"no solution cells with grade_id {sorted(unknown)}")
    out = json.loads(json.dumps(released))
    for cell in nbgrader_cells(out):
        meta = cell["metadata"]["nbgrader"]
        if meta.get("solution"):
            text = answers.get(meta["grade_id"], solution_body("".join(reference[meta["grade_id"]]["source"])))
            cell["source"] = text
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "release", "grade", "grade-one"])
    parser.add_argument("ids", nargs="*", help="assignments to grade (default: all with zips); grade-one: ID STUDENT")
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded side by side")
    parser.add_argument("--no-sandbox", action="store_true", help="run students' code without bubblewrap")
    parser.add_argument("--full", action="store_true", help="run the chapters in full mode while grading")
    parser.add_argument("--all-cells", action="store_true",
                        help="run every cell of the chapter, not only the set-up and the exercises' cells")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.command == "list":
        for aid, path in assignments().items():
            print(f"{aid}: {path.relative_to(ROOT)} ({points(json.loads(path.read_text())):g} points)")
    elif args.command == "release":
        for aid, path in release(course).items():
            print(f"{aid}: {path}")
    elif args.command == "grade-one":
        grade_one(*args.ids, course=course)
    else:
        graded = grade(args.ids, course, jobs=args.jobs, sandbox=False if args.no_sandbox else None,
                       quick=not args.full, all_cells=args.all_cells)
        print(f"graded {', '.join(graded) or 'nothing'}; grades in {course / 'grades.csv'}, "
              f"feedback in {course / 'feedback'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
