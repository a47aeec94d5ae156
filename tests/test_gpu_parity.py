"""The same code on CPU and CUDA: every notebook runs with ``device="cuda"``, and every registered
training entry point (tests/parity.py) gives the same numbers on both devices.

Tests marked ``gpu`` are skipped without CUDA (``pytest -m gpu`` runs only them).  On a machine
with a CUDA build of torch: ``make install TORCH_SPEC="torch==2.13.0 --index-url <CUDA index>"``
then ``.venv/bin/pytest -m gpu``.  The CPU-only tests below keep the harness itself honest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.notebook_utils import toc_notebooks
from tests.parity import PARITY_CASES, ParityCase, mismatches, parity_case, run_case

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
CASES = sorted(PARITY_CASES.values(), key=lambda c: c.name)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cpu_and_cuda_agree(case: ParityCase) -> None:
    cpu = run_case(case, torch.device("cpu"), seed=0)
    cuda = run_case(case, torch.device("cuda"), seed=0)
    problems = mismatches(cpu, cuda, case.rtol, case.atol)
    assert not problems, f"{case.name}: CPU and CUDA disagree:\n" + "\n".join(problems)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.slow
@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_on_cuda(path: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    # A tensor left on the CPU next to a model on CUDA raises here: that is what this catches.
    papermill.execute_notebook(str(path), str(tmp_path / path.name),
                               parameters={"seed": 1, "quick": True, "device": "cuda"},
                               kernel_name="python3", cwd=str(path.parent), progress_bar=False)


# --- The harness, checked on the CPU ------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_is_deterministic_on_cpu(case: ParityCase) -> None:
    """Same seed, same numbers: otherwise a CPU/CUDA comparison means nothing."""
    a = run_case(case, torch.device("cpu"), seed=0)
    b = run_case(case, torch.device("cpu"), seed=0)
    assert not mismatches(a, b, rtol=0.0, atol=0.0)
    c = run_case(case, torch.device("cpu"), seed=1)
    assert mismatches(a, c, case.rtol, case.atol), f"{case.name} ignores its seed"


def test_digits_case_learns() -> None:
    out = run_case(PARITY_CASES["digits-mlp-classifier"], torch.device("cpu"))
    assert out["losses"][-1] < 0.5 * out["losses"][0], "twenty Adam steps should halve the loss"


def test_mismatches_say_what_differs() -> None:
    a = {"loss": torch.tensor([1.0, 2.0]), "w": torch.zeros(3)}
    assert mismatches(a, dict(a), 1e-3, 1e-4) == []
    b = {"loss": torch.tensor([1.0, 2.1]), "w": torch.zeros(4), "extra": torch.ones(1)}
    problems = mismatches(a, b, 1e-3, 1e-4)
    assert problems[0] == "extra: only in one run"
    assert any(p.startswith("loss: max abs difference 0.1") for p in problems)
    assert "w: shapes (3,) vs (4,)" in problems
    assert mismatches({"x": torch.tensor([float("nan")])}, {"x": torch.tensor([0.0])}, 1, 1) == [
        "x: not finite"]


def test_registry_rejects_duplicates_and_bad_outputs() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        parity_case("digits-mlp-classifier")(lambda device, seed: {"x": 1.0})
    bad = ParityCase("bad", lambda device, seed: [1.0], 1e-3, 1e-4)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="must return a non-empty dict"):
        run_case(bad, torch.device("cpu"))
