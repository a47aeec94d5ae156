"""The course kit end to end, offline, in a temporary course folder (nothing lands in course/).

For every assignment (every toc'd notebook with nbgrader cells; scripts/coursekit.py):
- the student release has no solution code and keeps the tests and the tasks;
- no cell of the release outside the exercises uses a function a student writes, so unfilled
  stubs can only fail their own test cells;
- the released notebook, run as a student runs it (stubs unfilled, nbgrader not importable),
  fails every test cell with the check's "not implemented yet" message and nothing else fails;
- zip_collect -> autograde -> generate_feedback -> export: a fake student who submits the
  instructor's solutions gets full marks.
The last two execute notebooks, so `make test` runs them on the assignments in ``RUN_E2E`` only
(the chapters' own runs under nbval already show that every solution passes its test cell);
`make course-check` (``RLVAE_COURSE_ALL=1``) runs them on every assignment, as an instructor
should before releasing a week.
For *Getting started*, a second student submits typical mistakes and a stub: fewer points, and
the feedback HTML carries the check functions' messages; a third tunes her answers to the visible
tests (the hidden tests take the points); a fourth attacks the sandbox (reads the gradebook, the
solutions, the others' submissions, writes their feedback, the network: all fail); and bad
submissions (a dead kernel, an endless loop, changed metadata and a deleted test cell, a file that
is not a notebook) lose only what they broke, graded two at a time like `make grade JOBS=2`.
The release holds no hidden test and imports no exercise's reference before the exercise.  `nbgrader validate` and `autograde`
exit 0 whatever the score, so every assertion reads grades.csv and the gradebook.
"""

from __future__ import annotations

import ast
import csv
import html
import importlib.util
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from scripts import coursekit
from tests.notebook_utils import ROOT

if importlib.util.find_spec("nbgrader") is None:
    pytest.skip("the course kit needs the [course] extra (nbgrader)", allow_module_level=True)


# nbgrader's own autograde trips SQLAlchemy's "not in session" warnings; they are not ours.
# One xdist worker runs this module, so the release and the grading happen once.
pytestmark = [pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
              pytest.mark.xdist_group("course")]

ASSIGNMENTS = coursekit.assignments()
STUB_MESSAGE = "is not implemented yet: replace the `raise NotImplementedError`"
# The second student of Getting started: one typical mistake, one stub, one right answer.
MISTAKES = {
    "getting_started-scale_intensities-solution": (
        "def scale_intensities(raw):\n    return raw / 255\n"
    ),
    "getting_started-class_counts-solution": (
        "def class_counts(labels, num_classes=10):\n    raise NotImplementedError()\n"
    ),
}
# The third student of Getting started tuned every answer to the visible tests' inputs: right on
# them, wrong elsewhere.  The visible checks pass; the hidden tests (restored by autograde) do not.
TUNED = {
    "getting_started-scale_intensities-solution": (
        "def scale_intensities(raw):\n    return raw / 16 if raw.shape[1] == 64 else raw * 0.0\n"
    ),
    "getting_started-class_counts-solution": (
        "def class_counts(labels, num_classes=10):\n"
        "    if num_classes in (3, 4, 10, 12):\n"
        "        return torch.bincount(labels, minlength=num_classes)\n"
        "    return torch.zeros(num_classes, dtype=torch.int64)\n"
    ),
    "getting_started-ink_fraction-solution": (
        "def ink_fraction(images, threshold=0.5):\n"
        "    return (images > threshold).float().mean(dim=1) if images.shape == (7, 64) else images[:, 0] * 0\n"
    ),
}
# Students whose submissions break things; each must lose only what it broke, and nothing else.
ATTACK = """import os, socket
found = []
def attempt(what, action):
    try:
        action()
        found.append(what)
        print("ATTACK SUCCEEDED:", what)
    except Exception as exc:
        print("ATTACK BLOCKED:", what, type(exc).__name__)
course = {course!r}
attempt("read the gradebook", lambda: open(os.path.join(course, "gradebook.db"), "rb").read(10))
attempt("read the solutions", lambda: open(os.path.join(course, "source", "getting_started", "getting_started.ipynb")).read())
attempt("read the book's notebook", lambda: open({book!r}).read())
attempt("list other submissions", lambda: os.listdir(os.path.join(course, "submitted")))
attempt("read alice's submission", lambda: open(os.path.join(course, "submitted", "alice", "getting_started",
                                                              "getting_started.ipynb")).read())
for target in ("gradebook.db", "feedback/alice/getting_started/getting_started.html"):  # writes: judged outside
    try:
        with open(os.path.join(course, target), "ab") as f:
            f.write(b"PWNED")
    except OSError:
        pass
attempt("find a course folder above", lambda: [p for p in ("..", "../..", "../../..", "../../../..")
                                               if "gradebook.db" in os.listdir(p)][0])
attempt("reach the network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
print("ATTACKS SUCCEEDED:", len(found))

def scale_intensities(raw):
    return raw / 16
"""
BREAKERS = {
    "crash": {"getting_started-class_counts-solution": "import os\nos._exit(1)\n"},
    "loop": {"getting_started-ink_fraction-solution": "while True:\n    pass\n"},
}
CELL_TIMEOUT = 30  # s: the endless loop is stopped after this


def _break_cells(nb: dict) -> dict:
    """Delete the ink_fraction test cell and rename the scale_intensities test's grade id."""
    out = json.loads(json.dumps(nb))
    out["cells"] = [c for c in out["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade_id") != "getting_started-ink_fraction-test"]
    for cell in out["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade_id") == "getting_started-scale_intensities-test":
            meta["grade_id"] = "my-own-id"
    return out


MISTAKE_MESSAGES = ["scale_intensities: divided by 255 (the 8-bit habit)", "class_counts " + STUB_MESSAGE]
ids = list(ASSIGNMENTS)
RUN_E2E = ids if os.environ.get("RLVAE_COURSE_ALL") == "1" else ["getting_started"]


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _graded(nb: dict) -> list[dict]:
    return [c for c in coursekit.nbgrader_cells(nb) if c["metadata"]["nbgrader"].get("grade")]


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.fixture(scope="module")
def student_kernel(tmp_path_factory: pytest.TempPathFactory):
    """Make kernel "python3" one where `import nbgrader` fails, as on a student's machine."""
    base = tmp_path_factory.mktemp("student-kernel")
    block = base / "block" / "nbgrader"
    block.mkdir(parents=True)
    (block / "__init__.py").write_text('raise ImportError("nbgrader is not installed for students")\n')
    spec = base / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (student: no nbgrader)",
        "language": "python",
        "env": {"PYTHONPATH": os.pathsep.join(filter(None, [str(base / "block"), os.environ.get("PYTHONPATH")]))},
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(base / "jupyter"))
        yield


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh course folder with this repository's config, released by `make assignments`' code."""
    folder = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", folder)
    coursekit.release(folder)
    return folder


def test_assignments_follow_the_exercise_convention() -> None:
    assert "getting_started" in ASSIGNMENTS
    for aid, path in ASSIGNMENTS.items():
        nb = _load(path)
        cells = coursekit.nbgrader_cells(nb)
        tests = _graded(nb)
        assert len(tests) >= 3, f"{aid}: a chapter with exercises has at least 3 graded test cells"
        grade_ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
        assert len(set(grade_ids)) == len(grade_ids), f"{aid}: grade_ids repeat: {grade_ids}"
        for cell in cells:
            meta, source = cell["metadata"]["nbgrader"], _text(cell)
            where = f"{aid}, cell {meta['grade_id']}"
            if meta.get("solution"):
                assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, where
                assert "hide-input" in cell["metadata"].get("tags", []), f"{where}: tag it hide-input"
            if meta.get("grade"):
                assert meta.get("locked") and meta.get("points", 0) > 0, f"{where}: locked, with points"
                assert "check_" in source, f"{where}: a test cell calls a check_* function"


@pytest.mark.parametrize("aid", ids)
def test_release_has_no_solutions(course: Path, aid: str) -> None:
    source = _load(ASSIGNMENTS[aid])
    released = _load(course / "release" / aid / ASSIGNMENTS[aid].name)
    by_id = {c["metadata"]["nbgrader"]["grade_id"]: c for c in coursekit.nbgrader_cells(released)}
    for cell in released["cells"]:
        assert "BEGIN SOLUTION" not in _text(cell) and "HIDDEN TESTS" not in _text(cell)
        assert not cell.get("outputs"), "the release has no outputs"
    for cell in coursekit.nbgrader_cells(source):
        meta = cell["metadata"]["nbgrader"]
        out = _text(by_id[meta["grade_id"]])
        if meta.get("solution"):
            assert "raise NotImplementedError()" in out
            body = _text(cell).split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            leaked = [ln.strip() for ln in body.splitlines() if ln.strip() and ln.strip() in out]
            assert not leaked, f"{aid} {meta['grade_id']}: solution lines in the release: {leaked}"
        elif meta.get("grade"):
            visible = _text(cell).split("### BEGIN HIDDEN TESTS")[0]
            assert "### BEGIN HIDDEN TESTS" in _text(cell), f"{aid} {meta['grade_id']}: no hidden tests"
            assert out.strip() == visible.strip(), f"{aid} {meta['grade_id']}: the release's test cell is not its visible part"
            assert "agrees(" not in out, f"{aid} {meta['grade_id']}: a hidden test is in the release"
        assert by_id[meta["grade_id"]]["metadata"]["nbgrader"].get("locked") == meta.get("locked")


@pytest.mark.slow
@pytest.mark.parametrize("aid", ids)
def test_only_test_cells_use_the_students_functions(course: Path, aid: str) -> None:
    released = _load(course / "release" / aid / ASSIGNMENTS[aid].name)
    students = set()
    for cell in coursekit.nbgrader_cells(released):
        if cell["metadata"]["nbgrader"].get("solution") and cell["cell_type"] == "code":
            tree = ast.parse(_text(cell))
            students |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert students, f"{aid}: no solution cell defines a function"
    for i, cell in enumerate(released["cells"]):
        if cell["cell_type"] != "code" or cell["metadata"].get("nbgrader", {}).get("grade_id"):
            continue
        python = TransformerManager().transform_cell(_text(cell))  # %pip and friends -> Python
        used = {n.id for n in ast.walk(ast.parse(python)) if isinstance(n, ast.Name)} & students
        assert not used, (f"{aid} cell {i} uses {sorted(used)}, which the student writes: an unfilled "
                          "stub would break it; use the package's reference function there")


def _references_of(nb: dict) -> list:
    """The reference functions of a notebook's exercises (what its checks compare with)."""
    import importlib

    from rlvae_tutorial.exercises import guard

    refs = []
    for cell in _graded(nb):
        for module, name in re.findall(r"from (rlvae_tutorial\.exercises\.\w+) import (check_\w+)", _text(cell)):
            refs += [guard.resolve(path) for path in getattr(importlib.import_module(module), name).references]
    return refs


@pytest.mark.parametrize("aid", ids)
def test_release_does_not_import_a_reference_before_its_exercise(course: Path, aid: str) -> None:
    """No cell before the first exercise binds an exercise's reference to a name (``from m import f``)."""
    import importlib

    released = _load(course / "release" / aid / ASSIGNMENTS[aid].name)
    refs = _references_of(released)
    first = next(i for i, c in enumerate(released["cells"]) if c["metadata"].get("nbgrader", {}).get("solution"))
    for i, cell in enumerate(released["cells"][:first]):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(TransformerManager().transform_cell(_text(cell)))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlvae_tutorial"):
                for alias in node.names:
                    obj = getattr(importlib.import_module(node.module), alias.name, None)
                    assert not any(obj is ref for ref in refs), (
                        f"{aid} cell {i} imports {node.module}.{alias.name}, the reference of one of its "
                        "exercises, before the exercise: reach it as book.<module>.<name> in the chapter")


@pytest.mark.parametrize("aid", RUN_E2E)
def test_released_notebook_with_stubs_says_what_to_do(course: Path, aid: str, student_kernel: None) -> None:
    import nbformat
    from nbclient import NotebookClient

    folder = course / "release" / aid
    nb = nbformat.read(folder / ASSIGNMENTS[aid].name, as_version=4)
    probe = "try:\n    import nbgrader\n    print('nbgrader importable')\nexcept ImportError as e:\n    print(e)"
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    assert nb.cells[-1].outputs[0]["text"].strip() == "nbgrader is not installed for students"
    for i, cell in enumerate(nb.cells[:-1]):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert errors, f"{aid} cell {i} ({meta['grade_id']}): an unfilled stub must fail its test"
            (err,) = errors
            assert err["ename"] == "AssertionError" and STUB_MESSAGE in err["evalue"], (
                f"{aid} {meta['grade_id']}: the student sees {err['ename']}: {err['evalue']!r}, not "
                "the check's message; call the student's function through exercises.common.call"
            )
        elif not meta.get("solution"):
            assert not errors, f"{aid} cell {i} fails without the exercises: {errors[0]['evalue']}"


@pytest.fixture(scope="module")
def graded(course: Path, student_kernel: None) -> dict[tuple[str, str], dict]:
    """Zip the fake students' submissions, grade them with nbgrader, return grades.csv by (student, assignment)."""
    for aid in RUN_E2E:
        path = ASSIGNMENTS[aid]
        released = _load(course / "release" / aid / path.name)
        source = _load(path)
        archive = course / "downloaded" / aid / "archive"
        archive.mkdir(parents=True)
        with zipfile.ZipFile(archive / "lms_download.zip", "w") as zf:
            zf.writestr(f"submissions/alice__{path.name}", json.dumps(coursekit.fill_solutions(released, source)))
            if aid == "getting_started":
                bob = coursekit.fill_solutions(released, source, MISTAKES)
                zf.writestr(f"submissions/bob__{path.name}", json.dumps(bob))
                carol = coursekit.fill_solutions(released, source, TUNED)
                zf.writestr(f"submissions/carol__{path.name}", json.dumps(carol))
                attack = ATTACK.format(course=str(course), book=str(path))
                mallory = coursekit.fill_solutions(released, source, {"getting_started-scale_intensities-solution": attack})
                zf.writestr(f"submissions/mallory__{path.name}", json.dumps(mallory))
                for name, answers in BREAKERS.items():
                    zf.writestr(f"submissions/{name}__{path.name}",
                                json.dumps(coursekit.fill_solutions(released, source, answers)))
                broken = _break_cells(coursekit.fill_solutions(released, source))
                zf.writestr(f"submissions/broken__{path.name}", json.dumps(broken))
                zf.writestr(f"submissions/garbage__{path.name}", "this is not a notebook")
            zf.writestr("submissions/README.txt", "not a notebook: zip_collect skips it")
    coursekit.grade(None, course, jobs=2, cell_timeout=CELL_TIMEOUT)
    with open(course / "grades.csv", newline="") as f:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}


@pytest.mark.slow
@pytest.mark.parametrize("aid", RUN_E2E)
def test_instructor_solutions_get_full_marks(course: Path, graded: dict, aid: str) -> None:
    row = graded[("alice", aid)]
    total = coursekit.points(_load(ASSIGNMENTS[aid]))
    assert float(row["max_score"]) == total
    assert float(row["score"]) == total, f"{aid}: the instructor's solutions scored {row['score']} of {total}"
    assert (course / "submitted" / "alice" / aid / ASSIGNMENTS[aid].name).exists(), "zip_collect placed it"


@pytest.mark.slow
def test_wrong_submission_loses_points_and_gets_the_message(course: Path, graded: dict) -> None:
    from nbgrader.api import Gradebook

    row = graded[("bob", "getting_started")]
    assert float(row["max_score"]) == 3.0 and float(row["score"]) == 1.0, row
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        def score(name: str) -> float:
            return gb.find_grade(f"getting_started-{name}-test", "getting_started", "getting_started", "bob").score
        assert (score("scale_intensities"), score("class_counts"), score("ink_fraction")) == (0, 0, 1)
    page = (course / "feedback" / "bob" / "getting_started" / "getting_started.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    for message in MISTAKE_MESSAGES:
        assert message in text, f"the feedback does not show {message!r}"
    alice = (course / "feedback" / "alice" / "getting_started" / "getting_started.html").read_text()
    assert "AssertionError" not in alice


@pytest.mark.slow
def test_submission_tuned_to_the_visible_tests_loses_the_points(course: Path, graded: dict) -> None:
    row = graded[("carol", "getting_started")]
    assert float(row["score"]) == 0.0, f"the tuned submission scored {row['score']}: the hidden tests did not run"
    page = (course / "feedback" / "carol" / "getting_started" / "getting_started.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "right, it passes every visible check" in text, "the visible checks passed"
    assert "on an input the visible test does not show" in text


def _feedback(course: Path, student: str) -> str:
    page = (course / "feedback" / student / "getting_started" / "getting_started.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _scores(course: Path, student: str) -> tuple[float, ...]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return tuple(gb.find_grade(f"getting_started-{name}-test", "getting_started", "getting_started",
                                   student).score for name in ("scale_intensities", "class_counts", "ink_fraction"))


@pytest.mark.slow
def test_sandbox_stops_every_attack(course: Path, graded: dict) -> None:
    """The attacking submission runs, but sees none of the course folder and no network."""
    text = _feedback(course, "mallory")
    assert "ATTACKS SUCCEEDED: 0" in text and not re.search(r"^ATTACK SUCCEEDED:", text, re.M), text[-3000:]
    assert len(re.findall(r"^ATTACK BLOCKED:", text, re.M)) == 7
    assert b"PWNED" not in (course / "gradebook.db").read_bytes(), "the gradebook was written"
    alice = (course / "feedback" / "alice" / "getting_started" / "getting_started.html").read_bytes()
    assert b"PWNED" not in alice, "another student's feedback was written"
    assert float(graded[("mallory", "getting_started")]["score"]) == 3.0, "its own answers are still graded"


@pytest.mark.slow
def test_bad_submissions_lose_only_what_they_broke(course: Path, graded: dict) -> None:
    assert _scores(course, "loop") == (1.0, 1.0, 0.0), "the endless loop costs its own cell only"
    assert "Timeout" in _feedback(course, "loop") or "timed out" in _feedback(course, "loop")
    # A kernel that dies stops nbgrader's run of that notebook: zero, and the feedback says why.
    assert float(graded[("crash", "getting_started")]["score"]) == 0.0
    assert "the Python kernel died while running it" in _feedback(course, "crash")
    # Changed metadata is put back and a deleted test cell restored: the right answers still count.
    assert float(graded[("broken", "getting_started")]["score"]) == 3.0
    assert "was changed; it was put back" in _feedback(course, "broken")
    assert "was deleted; it was put back and graded" in _feedback(course, "broken")
    assert float(graded[("garbage", "getting_started")]["score"]) == 0.0
    assert "it is not a Jupyter notebook" in _feedback(course, "garbage")
    alice = _feedback(course, "alice")
    assert "check_scale_intensities" in alice and "agrees(" not in alice, "feedback hides the hidden tests"
    for good in ("alice", "carol"):  # graded as before, whatever the others did
        assert (course / "feedback" / good / "getting_started" / "getting_started.html").exists()
    assert float(graded[("alice", "getting_started")]["score"]) == 3.0


@pytest.mark.slow
def test_grading_benchmark_runs() -> None:
    """benchmarks/grading.py at a tiny size (2 submissions of Getting started), so that it does not rot."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "grading.py"), "--n", "2", "--jobs", "2",
         "--assignment", "getting_started"],
        capture_output=True, text=True, check=True, timeout=900,
    ).stdout
    assert "JOBS=2:" in out and "submissions/minute" in out
    assert "scores 2: 1, 3: 1" in out, out  # one right submission, one with a mistake


def test_sandbox_makes_tmp_before_it_binds_paths_that_may_lie_under_it() -> None:
    """bubblewrap mounts in order: a fresh /tmp mounted after the binds hid a checkout or venv under
    /tmp (CI clones anywhere), and every submission then scored 0."""
    from scripts import coursegrade

    argv = coursegrade.kernel_argv(Path("/tmp/grading/work"), Path("/tmp/grading/ipc"))
    binds = [i for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    tmpfs = [i for i, a in enumerate(argv) if a == "--tmpfs" and argv[i + 1] == "/tmp"]
    assert len(tmpfs) == 1 and tmpfs[0] < min(binds), argv
