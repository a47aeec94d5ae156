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
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin"]
    for path in ro:
        argv += ["--ro-bind", str(path), str(path)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        argv += ["--symlink", str(Path(sys.prefix).resolve()), str(sys.prefix)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--bind", str(work), str(work), "--bind", str(ipc), str(ipc),
             "--ro-bind", "{connection_file}", "{connection_file}",
             "--chdir", str(work), "--unsetenv", "JPY_PARENT_PID",
             "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp",
             "--setenv", "RLVAE_RESULTS_DIR", str(work / ".results"),
             "--setenv", "PYTHONPATH", str(package.parent),
             str(Path(sys.executable)), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return argv


def prepare(course: Path, aid: str, student: str, sandbox: bool, cell_timeout: int) -> Path:
    """The student's grading folder: config, gradebook copy, the submission; a sandboxed kernel spec."""
    folder = course / ".grading" / aid / student
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "submitted" / student).mkdir(parents=True)
    shutil.copytree(course / "submitted" / student / aid, folder / "submitted" / student / aid)
    if (course / "source" / aid).exists():
        shutil.copytree(course / "source" / aid, folder / "source" / aid)
    shutil.copy2(course / "gradebook.db", folder / "gradebook.db")
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
            "argv": kernel_argv(work, ipc), "display_name": "Python 3 (sandboxed grading)", "language": "python"}))
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
        tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
        return student, f"nbgrader could not grade it: {tail[0][:300]}"
    return student, None


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
                     quick: bool = True, cell_timeout: int = CELL_TIMEOUT,
                     run_timeout: int = RUN_TIMEOUT) -> dict[str, str | None]:
    """Collect, then grade every submission of ``aid`` ``jobs`` at a time; {student: None or failure}."""
    nbgrader(["zip_collect", aid, "--force"], course)
    students = sorted(p.parent.name for p in course.glob(f"submitted/*/{aid}") if p.is_dir())
    if not students:
        return {}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(run_one, prepare(course, aid, s, sandbox, cell_timeout), aid, s, quick, run_timeout)
                   for s in students]
        outcome = dict(f.result() for f in futures)
    for student in students:  # one writer at a time
        why = outcome[student]
        if why is None:
            merge(course, course / ".grading" / aid / student, aid, student)
        else:
            zero(course, aid, student, why)
    return outcome


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """``(fn(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
