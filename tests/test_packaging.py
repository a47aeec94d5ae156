"""The dependency declarations agree with each other."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from tests.notebook_utils import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_delegates_to_pyproject() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    extras = _pyproject()["project"]["optional-dependencies"]
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert "pip" in conda and any(d.startswith("python") for d in conda)
    # Only python and pip come from conda: every library comes from pyproject.toml.
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda) == ["pip", "python"], conda
    assert len(pip_sections) == 1, "environment.yml needs one pip: section"
    (line,) = pip_sections[0]
    m = re.fullmatch(r"-e \.\[([a-z,]+)\]", line)
    assert m, f"the pip section must install the project itself ('-e .[book,test]'), got {line!r}"
    for extra in m.group(1).split(","):
        assert extra in extras, f"environment.yml asks for extra {extra!r}, not in pyproject.toml"
    assert {"book", "test"} <= set(m.group(1).split(","))


def test_environment_python_satisfies_requires_python() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (py,) = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    version = tuple(int(v) for v in py.split("=")[1].split("."))
    floor = tuple(int(v) for v in re.search(r">=\s*([\d.]+)", _pyproject()["project"]["requires-python"]).group(1).split("."))
    assert version >= floor


def test_pyproject_declares_core_and_extras() -> None:
    project = _pyproject()["project"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"torch", "numpy", "matplotlib", "scikit-learn", "gymnasium", "tqdm"} <= names
    book = " ".join(project["optional-dependencies"]["book"])
    assert "jupyter-book>=1.0.4.post1,<2" in book, "Jupyter Book 1 (JB2 needs a network to build)"
    test = {re.split(r"[<>=\[ ]", d)[0] for d in project["optional-dependencies"]["test"]}
    assert {"pytest", "nbval", "papermill", "ruff"} <= test


def test_makefile_pins_torch_in_one_variable() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^TORCH_SPEC \?= torch==2\.13\.0$", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")


def test_references_bib_parses_and_has_no_duplicate_keys() -> None:
    """A broken entry stops the whole book build (sphinxcontrib-bibtex): catch it in seconds."""
    pybtex = pytest.importorskip("pybtex.database")
    text = (ROOT / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", text, flags=re.M)
    assert len(keys) == len(set(keys)), f"duplicate bibtex keys: {sorted({k for k in keys if keys.count(k) > 1})}"
    data = pybtex.parse_string(text, "bibtex")
    assert set(data.entries) == set(keys)
