"""Grading at class size, for ``scripts/coursekit.py grade`` (``make grade JOBS=N``).

Each submission is autograded by nbgrader's own commands (``autograde`` then ``generate_feedback``,
``--student`` that one) in a process and a folder of its own, ``course/.grading/<id>/<student>/``:
a copy of the course's ``nbgrader_config.py`` and ``gradebook.db`` with that one submission.  JOBS
of them run side by side.  Their results are merged into the course's gradebook one at a time
(nbgrader's gradebook is SQLite: one writer), and the autograded notebooks and feedback pages are
copied next to the others, so ``nbgrader export`` and ``formgrader`` see one ordinary course.

The student's code runs in a kernel inside Debian's ``bubblewrap`` (``bwrap``): no network, a
read-only view of the system and of Python, the book's package, and, writable, only the folder of
its own notebook.  The course folder (other submissions, the instructor's source notebooks with
the solutions and hidden tests, the gradebook, everyone's feedback) is not in its view at all.
The kernel talks to nbgrader over Unix sockets in a folder bound into the sandbox.

A submission that cannot be graded (not a notebook, nbgrader failed, the whole run timed out) gets
zero and a feedback page that says why; the others are graded as usual.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 300  # s per cell while grading (quick mode); an endless loop costs at most this
RUN_TIMEOUT = 1800  # s per submission, all cells and nbgrader's own work


def bwrap_works() -> bool:
    """True where ``bwrap`` is installed and can make a sandbox here (it needs user namespaces or root)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, "--ro-bind", "/", "/", "--unshare-all", "--dev", "/dev", "--proc", "/proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0


def kernel_argv(work: Path, ipc: Path) -> list[str]:
    """The kernel command line: ipykernel inside bubblewrap, seeing only what grading needs."""
    import rlvae_tutorial

    package = Path(rlvae_tutorial.__file__).resolve().parent
    ro = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package, Path("/usr"), Path("/etc")})
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
            # A fresh /tmp first: bubblewrap mounts in order, so a later bind of a path under /tmp (a
            # checkout or venv in /tmp, the submission's folder) lands on top of it, not under it.
            "--tmpfs", "/tmp"]
    for path in ro:
        argv += ["--ro-bind", str(path), str(path)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        argv += ["--symlink", str(Path(sys.prefix).resolve()), str(sys.prefix)]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--bind", str(work), str(work), "--bind", str(ipc), str(ipc),
             "--ro-bind", "{connection_file}", "{connection_file}",
             "--chdir", str(work), "--unsetenv", "JPY_PARENT_PID",
             "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp",
             "--setenv", "RLVAE_RESULTS_DIR", str(work / ".results"),
             "--setenv", "PYTHONPATH", str(package.parent),
             str(Path(sys.executable)), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return argv


SKIPPED = "# Not run while grading: a chapter cell that no exercise or test needs (coursegrade.exercises_only)."


def exercises_only(submission: dict, released: dict) -> dict:
    """The submission with only what grading needs left to run: the parameters and import/set-up cell,
    every nbgrader cell (solutions, graded tests with their hidden tests), and every cell the student
    added; the chapter's other code cells (its experiments) are blanked.  The exercises' solutions
    and checks depend on none of them (tests/test_course.py checks that their cells run alone)."""
    ids = {c.get("id") for c in released["cells"]}
    out = json.loads(json.dumps(submission))
    setup_seen = False
    for cell in out["cells"]:
        if cell["cell_type"] != "code" or "nbgrader" in cell.get("metadata", {}) or cell.get("id") not in ids:
            continue
        source = "".join(cell["source"])
        if "parameters" in cell["metadata"].get("tags", []) or (not setup_seen and "setup(" in source):
            setup_seen = setup_seen or "setup(" in source
            continue
        cell["source"], cell["outputs"] = SKIPPED, []
    return out


def repair(submission: dict, released: dict) -> tuple[dict, list[str]]:
    """Undo what a student may not change, so that the rest can be graded: the nbgrader metadata of
    the release's cells (a changed grade id) is put back, and a deleted locked test cell is put back
    after the cell that preceded it (nbgrader then restores its source and grades it).  Returns the
    notebook and one line per repair, for the feedback."""
    out, notes = json.loads(json.dumps(submission)), []
    by_id = {c.get("id"): c for c in out["cells"]}
    previous = None
    for cell in released["cells"]:
        meta = cell["metadata"].get("nbgrader")
        mine = by_id.get(cell.get("id"))
        if meta is not None and mine is not None and mine["metadata"].get("nbgrader") != meta:
            mine["metadata"]["nbgrader"] = meta
            notes.append(f"the nbgrader metadata of cell {meta['grade_id']} was changed; it was put back")
        elif meta is not None and mine is None and meta.get("grade"):
            index = out["cells"].index(by_id[previous]) + 1 if previous in by_id else len(out["cells"])
            out["cells"].insert(index, json.loads(json.dumps(cell)))
            by_id[cell.get("id")] = out["cells"][index]
            notes.append(f"the test cell {meta['grade_id']} was deleted; it was put back and graded")
        previous = cell.get("id")
    return out, notes


def _trim(folder: Path, course: Path, aid: str, student: str, all_cells: bool) -> list[str]:
    notes = []
    for path in (folder / "submitted" / student / aid).glob("*.ipynb"):
        release = course / "release" / aid / path.name
        try:
            submission = json.loads(path.read_text())
            released = json.loads(release.read_text())
        except (OSError, ValueError):
            continue  # not a notebook, or no release to compare with: nbgrader judges it as it is
        if isinstance(submission, dict) and isinstance(submission.get("cells"), list):
            submission, repaired = repair(submission, released)
            notes += repaired
            if not all_cells:
                submission = exercises_only(submission, released)
            path.write_text(json.dumps(submission, indent=1))
    return notes


def prepare(course: Path, aid: str, student: str, sandbox: bool, cell_timeout: int,
            all_cells: bool = False) -> Path:
    """The student's grading folder: config, gradebook copy, the submission; a sandboxed kernel spec."""
    folder = course / ".grading" / aid / student
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "submitted" / student).mkdir(parents=True)
    shutil.copytree(course / "submitted" / student / aid, folder / "submitted" / student / aid)
    if (course / "source" / aid).exists():
        shutil.copytree(course / "source" / aid, folder / "source" / aid)
    shutil.copy2(course / "gradebook.db", folder / "gradebook.db")
    notes = _trim(folder, course, aid, student, all_cells)
    (folder / "repairs.json").write_text(json.dumps(notes))
    config = (course / "nbgrader_config.py").read_text()
    config += f"\n# Added for this one submission by scripts/coursegrade.py\nc.Execute.timeout = {cell_timeout}\n"
    if sandbox:
        ipc = folder / "ipc"
        ipc.mkdir()
        config += f'c.KernelManager.transport = "ipc"\nc.KernelManager.ip = {str(ipc / "kernel")!r}\n'
        work = folder / "autograded" / student / aid
        work.mkdir(parents=True)
        spec = folder / "jupyter" / "kernels" / "python3"
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            "argv": kernel_argv(work, ipc), "display_name": "Python 3 (sandboxed grading)", "language": "python",
            "interrupt_mode": "message"}))  # a signal would reach bwrap, not the kernel
    (folder / "nbgrader_config.py").write_text(config)
    return folder


def run_one(folder: Path, aid: str, student: str, quick: bool, run_timeout: int) -> tuple[str, str | None]:
    """Autograde and give feedback to one submission in its folder; (student, None or why it failed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env["RLVAE_QUICK"] = "1" if quick else env.get("RLVAE_QUICK", "0")
    if (folder / "jupyter").exists():
        env["JUPYTER_PATH"] = str(folder / "jupyter")
    command = [sys.executable, str(ROOT / "scripts" / "coursekit.py"), "grade-one", aid, student, "--course", str(folder)]
    log = folder / "grade.log"
    try:
        with log.open("w") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=run_timeout)
    except subprocess.TimeoutExpired:
        return student, f"grading took longer than {run_timeout} s and was stopped"
    if done.returncode != 0:
        return student, _why(log.read_text())
    return student, None


REASONS = [
    ("NotJSONError", "it is not a Jupyter notebook (submit the .ipynb file itself)"),
    ("DeadKernelError", "the Python kernel died while running it (os._exit, a crash, or too much memory), "
                        "so its cells could not all run; find the cell that kills the kernel"),
    ("CellTimeoutError", "a cell ran longer than the grading limit (an endless loop?)"),
    ("ValidationError", "its nbgrader metadata is corrupted and could not be repaired"),
]


def _why(log: str) -> str:
    """One line for the feedback: why nbgrader could not grade a submission, read from its log."""
    for marker, reason in REASONS:
        if marker in log:
            return reason
    last = log.strip().splitlines()[-1:] or ["(no output)"]
    return f"nbgrader could not grade it: {last[0][:300]}"


def merge(course: Path, folder: Path, aid: str, student: str) -> None:
    """Copy one student's submission, grades and comments from its folder's gradebook into the course's."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as src, Gradebook(f"sqlite:///{course / 'gradebook.db'}") as dst:
        sub = src.find_submission(aid, student)
        dst.update_or_create_student(student)
        new = dst.update_or_create_submission(aid, student, timestamp=sub.timestamp)
        for nb in sub.notebooks:
            for grade in nb.grades:
                target = dst.find_grade(grade.name, nb.name, aid, student)
                target.auto_score, target.manual_score = grade.auto_score, grade.manual_score
                target.extra_credit = grade.extra_credit
            for comment in nb.comments:
                target = dst.find_comment(comment.name, nb.name, aid, student)
                target.auto_comment, target.manual_comment = comment.auto_comment, comment.manual_comment
            dst_nb = dst.find_submission_notebook(nb.name, aid, student)
            dst_nb.flagged = nb.flagged
        new.timestamp = sub.timestamp
        dst.db.commit()
    for kind in ("autograded", "feedback"):
        here, there = folder / kind / student / aid, course / kind / student / aid
        if here.exists():
            if there.exists():
                shutil.rmtree(there)
            shutil.copytree(here, there, ignore=shutil.ignore_patterns(".ipython", ".results", ".cache"))


def zero(course: Path, aid: str, student: str, why: str) -> None:
    """Record a submission that could not be graded: zero points, and a feedback page saying why."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(aid, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0.0
        gb.db.commit()
        notebooks = [nb.name for nb in gb.find_assignment(aid).notebooks]
    folder = course / "feedback" / student / aid
    folder.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        folder.joinpath(f"{name}.html").write_text(
            f"<html><body><h1>{html.escape(aid)}: {html.escape(name)}</h1>"
            f"<p>Your submission got 0 points: {html.escape(why)}.</p></body></html>\n")


def grade_assignment(course: Path, aid: str, nbgrader, jobs: int = 1, sandbox: bool = True,  # noqa: ANN001
                     quick: bool = True, cell_timeout: int = CELL_TIMEOUT, run_timeout: int = RUN_TIMEOUT,
                     all_cells: bool = False) -> dict[str, str | None]:
    """Collect, then grade every submission of ``aid`` ``jobs`` at a time; {student: None or failure}."""
    nbgrader(["zip_collect", aid, "--force"], course)
    students = sorted(p.parent.name for p in course.glob(f"submitted/*/{aid}") if p.is_dir())
    if not students:
        return {}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(run_one, prepare(course, aid, s, sandbox, cell_timeout, all_cells), aid, s, quick,
                               run_timeout) for s in students]
        outcome = dict(f.result() for f in futures)
    for student in students:  # one writer at a time
        why = outcome[student]
        if why is None:
            merge(course, course / ".grading" / aid / student, aid, student)
            _add_notes(course, aid, student, json.loads((course / ".grading" / aid / student / "repairs.json").read_text()))
        else:
            zero(course, aid, student, why)
    return outcome


def _add_notes(course: Path, aid: str, student: str, notes: list[str]) -> None:
    """Put the repairs made before grading at the top of the student's feedback pages."""
    if not notes:
        return
    banner = "".join(f"<p><b>Note:</b> {html.escape(n)}.</p>" for n in notes)
    for page in (course / "feedback" / student / aid).glob("*.html"):
        text = page.read_text()
        at = text.find("<body")
        at = text.find(">", at) + 1 if at >= 0 else 0
        page.write_text(text[:at] + banner + text[at:])


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """``(fn(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
