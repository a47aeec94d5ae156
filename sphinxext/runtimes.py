"""Run-time reports of the book build: what was measured, where, and how it compares to budgets.

Pure helpers (no Sphinx) used by ``sphinxext/rlvae_book.py`` and by the tests.  A report is the
JSON ``<runtimes dir>/<mode>.json``: myst-nb's measured wall time of each notebook (kernel start
included), whether it succeeded, a fingerprint of the notebook's source, and the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUNTIMES_ENV = "RLVAE_RUNTIMES_DIR"
MODES = ("full", "quick")
BUDGET_KEY = "rlvae"


def runtimes_dir(srcdir: str | Path) -> Path:
    """Where the reports live: ``$RLVAE_RUNTIMES_DIR`` or ``<srcdir>/_build/runtimes``."""
    raw = os.environ.get(RUNTIMES_ENV)
    return Path(raw) if raw else Path(srcdir) / "_build" / "runtimes"


def current_mode() -> str:
    """``"quick"`` or ``"full"``, read the way the notebooks read it (``RLVAE_QUICK``)."""
    from rlvae_tutorial.notebook import resolve_quick

    return "quick" if resolve_quick(None) else "full"


def notebook_fingerprint(path: str | Path, cell_types: tuple[str, ...] | None = None) -> str:
    """A short hash of a notebook's cells (type and source), blind to outputs and metadata.

    ``cell_types=("code",)`` hashes the code cells only (the parameters cell among them): what
    a run computes, blind to edits of the prose (the robustness appendix's sweeps use that).
    """
    nb = json.loads(Path(path).read_text())
    digest = hashlib.sha256()
    for cell in nb.get("cells", []):
        if cell_types is not None and cell.get("cell_type") not in cell_types:
            continue
        src = cell.get("source", "")
        digest.update(cell.get("cell_type", "").encode() + b"\0")
        digest.update(("".join(src) if isinstance(src, list) else src).encode() + b"\0")
    return digest.hexdigest()[:16]


def notebook_budget(path: str | Path) -> dict[str, float | None]:
    """The stated budgets ``{"full": s, "quick": s}`` from the notebook's ``rlvae`` metadata."""
    meta = json.loads(Path(path).read_text()).get("metadata", {}).get(BUDGET_KEY, {})
    return {mode: meta.get(f"budget_{mode}_s") for mode in MODES}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """The device the notebooks resolve to (as ``setup(device=None)`` does) and the machine."""
    import torch

    from rlvae_tutorial.device import get_device

    device = get_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    return {
        "device": str(device),
        "device_name": name,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def build_report(mode: str, exec_data: dict[str, dict], notebooks: dict[str, Path],
                 machine: dict[str, Any]) -> dict[str, Any]:
    """The JSON report of one build: ``exec_data`` maps docname -> myst-nb's execution result."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rows = {}
    for docname, data in sorted(exec_data.items()):
        if not data or docname not in notebooks:
            continue
        runtime = data.get("runtime")
        rows[docname] = {
            "runtime_s": None if runtime is None else round(float(runtime), 2),
            "succeeded": bool(data.get("succeeded")),
            "fingerprint": notebook_fingerprint(notebooks[docname]),
        }
    return {"mode": mode, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine, "notebooks": rows}


def write_report(report: dict[str, Any], directory: Path) -> Path:
    """Write ``<directory>/<mode>.json`` atomically and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['mode']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def load_report(mode: str, directory: Path) -> dict[str, Any] | None:
    """The stored report of ``mode``, or None when that mode was never measured here."""
    path = directory / f"{mode}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def measured(report: dict[str, Any] | None, docname: str, fingerprint: str) -> str:
    """One table cell: ``"12.3 s"``, ``"not measured"``, ``"failed"`` or ``"stale"``."""
    row = (report or {}).get("notebooks", {}).get(docname)
    if row is None or row.get("runtime_s") is None:
        return "not measured"
    if not row.get("succeeded"):
        return "failed"
    if row.get("fingerprint") != fingerprint:
        return f"{row['runtime_s']:.1f} s (stale: the notebook changed since)"
    return f"{row['runtime_s']:.1f} s"


def _budget(value: float | None) -> str:
    return "not stated" if value is None else f"{value:g} s"


def runtime_rows(notebooks: dict[str, Path], reports: dict[str, dict | None]) -> list[list[str]]:
    """Rows ``[docname, full budget, full measured, quick budget, quick measured]``."""
    rows = []
    for docname, path in notebooks.items():
        fingerprint, budget = notebook_fingerprint(path), notebook_budget(path)
        rows.append([docname,
                     _budget(budget["full"]), measured(reports.get("full"), docname, fingerprint),
                     _budget(budget["quick"]), measured(reports.get("quick"), docname, fingerprint)])
    return rows


def total_runtime(notebooks: dict[str, Path], report: dict[str, Any] | None) -> str:
    """The summed time of the chapters whose current version was measured in one mode."""
    rows = (report or {}).get("notebooks", {})
    fresh = [rows[d]["runtime_s"] for d, p in notebooks.items()
             if d in rows and rows[d].get("succeeded") and rows[d].get("runtime_s") is not None
             and rows[d].get("fingerprint") == notebook_fingerprint(p)]
    if not fresh:
        return "not measured"
    total = f"{sum(fresh):.0f} s ({sum(fresh) / 60:.1f} min)"
    return total if len(fresh) == len(notebooks) else f"{total}, {len(fresh)} of {len(notebooks)} chapters"


def describe_machine(mode: str, report: dict[str, Any] | None) -> str:
    """One sentence saying when, where and on which device a mode was measured."""
    command = "make book" if mode == "full" else "make test (or make book)"
    if report is None:
        return f"{mode.capitalize()} mode: not measured in this checkout yet ({command} measures it)."
    m = report["machine"]
    load = "" if m.get("load_avg_1m") is None else f"; load average {m['load_avg_1m']} at the end"
    return (f"{mode.capitalize()} mode: measured {report['measured_at'][:16].replace('T', ' ')} UTC "
            f"on device {m['device']} ({m['device_name']}; {m['cpu_count']} CPU cores, "
            f"{m['platform']}), Python {m['python']}, PyTorch {m['torch']}{load}.")
