"""The lock (requirements-lock.txt) pins every dependency pyproject.toml declares, within its range."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.notebook_utils import ROOT

LOCK = ROOT / "requirements-lock.txt"


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        assert m, f"every line of the lock must be name==version, got {line!r} (run make lock)"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"{name} is pinned twice in the lock"
        pins[name] = Version(m.group(2))
    return pins


def _declared() -> list[tuple[str, Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [("dependencies", Requirement(d)) for d in project["dependencies"]]
    for extra, deps in project["optional-dependencies"].items():
        reqs += [(f"extra {extra!r}", Requirement(d)) for d in deps]
    return reqs


@pytest.mark.parametrize(("where", "req"), _declared(), ids=lambda x: str(x))
def test_lock_pins_every_declared_dependency_within_its_range(where: str, req: Requirement) -> None:
    pins = _pins()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} ({where} of pyproject.toml) is not in the lock: run make lock"
    assert req.specifier.contains(pins[name], prereleases=True), (
        f"the lock pins {req.name}=={pins[name]}, outside pyproject.toml's {req} ({where}): run make lock"
    )


def test_lock_pins_the_makefile_torch_and_no_cuda_build() -> None:
    pins = _pins()
    spec = re.search(r"^TORCH_SPEC \?= torch==(\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert spec, "the Makefile sets TORCH_SPEC ?= torch==<version>"
    # Written without a local label (+cpu) so that the CPU and any CUDA build of it satisfy it.
    assert str(pins["torch"]) == spec.group(1)
    cuda = sorted(n for n in pins if n.startswith("nvidia-") or n == "triton")
    assert not cuda, f"the lock pins CUDA packages {cuda}: resolve against the CPU build (make lock)"


def test_install_rule_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := requirements-lock\.txt$", makefile, re.M)
    stamp = re.search(r"^\$\(STAMP\): (.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert stamp, "the Makefile's install rule $(STAMP) is missing"
    assert "$(LOCK)" in stamp.group(1).split(), "a changed lock must re-run the install"
    assert re.search(r"pip install .*-c \$\(LOCK\) -e \"\.\[", stamp.group(2)), (
        "the install must use the lock as constraints"
    )
    assert re.search(r"^lock:", makefile, re.M), "make lock re-resolves the lock"
