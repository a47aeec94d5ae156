"""Seed sweeps: what they store, their statistics, and the robustness appendix's table.

Pure helpers (no Sphinx) used by ``scripts/sweep.py`` (which runs the sweeps), by
``sphinxext/rlvae_book.py`` (the ``{rlvae-robustness}`` directive) and by the tests.

A sweep file (``scripts/sweep.py run`` writes one per run set; the committed ones live in
``sweeps/``) is JSON::

    {"format": "rlvae-sweep/1", "mode": "quick", "seeds": [0, 1, ...], "jobs": 2,
     "started_at": "...", "finished_at": "...", "complete": true,
     "commit": "<git sha>", "dirty": false, "machine": {"cpu_count": 2, ...},
     "notebooks": {"book/vae_elbo": {"path": "book/vae_elbo.ipynb", "fingerprint": "...",
        "runs": [{"seed": 0, "passed": true, "runtime_s": 31.2, "failure": null,
                  "results": {"vae_elbo/test_elbo": -25.1, ...}},
                 {"seed": 1, "passed": false, "runtime_s": 12.0, "results": {},
                  "failure": {"cell_index": 17, "cell_id": "a1b2", "first_line": "assert ...",
                              "exception": "AssertionError", "message": "..."}}]}}}

``fingerprint`` hashes the notebook's code cells (its parameters cell among them), as the
run-time appendix does for whole notebooks: a sweep of a notebook whose code changed since is
stale, and ``tests/test_robustness.py`` says so.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from sphinxext.runtimes import notebook_fingerprint

FORMAT = "rlvae-sweep/1"
MODES = ("quick", "full")
SWEEPS_DIR = "sweeps"


def sweep_fingerprint(path: str | Path) -> str:
    """The fingerprint a sweep stores: the run-time appendix's hash, of the code cells only."""
    return notebook_fingerprint(path, cell_types=("code",))


def load_sweeps(directory: str | Path) -> list[dict[str, Any]]:
    """Every sweep file ``<directory>/*.json``, oldest first (by ``started_at``)."""
    sweeps = []
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a sweep file (format {data.get('format')!r}, "
                             f"expected {FORMAT!r}); write it with scripts/sweep.py")
        data["file"] = path.name
        sweeps.append(data)
    return sorted(sweeps, key=lambda s: (s.get("started_at", ""), s["file"]))


def latest(sweeps: list[dict[str, Any]], docname: str, mode: str) -> dict[str, Any] | None:
    """The newest sweep of ``docname`` in ``mode``: ``{"sweep": ..., "entry": ...}`` or None."""
    found = None
    for sweep in sweeps:
        entry = sweep.get("notebooks", {}).get(docname)
        if sweep.get("mode") == mode and entry and entry.get("runs"):
            found = {"sweep": sweep, "entry": entry}
    return found


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number_stats(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per recorded scalar number: ``{"n", "mean", "sd", "min", "max"}`` over the runs.

    ``sd`` is the sample standard deviation (n - 1 in the denominator; 0 for one run).
    Lists, strings and flags are kept in the file but have no statistics.
    """
    values: dict[str, list[float]] = {}
    for run in runs:
        for key, value in run.get("results", {}).items():
            if is_number(value):
                values.setdefault(key, []).append(float(value))
    stats = {}
    for key, xs in sorted(values.items()):
        n, mean = len(xs), sum(xs) / len(xs)
        same = min(xs) == max(xs)  # no rounding noise in the sd of a constant
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 and not same else 0.0
        stats[key] = {"n": n, "mean": mean, "sd": sd, "min": min(xs), "max": max(xs)}
    return stats


def pass_rate(entry: dict[str, Any]) -> tuple[int, int]:
    """(runs that passed, runs) of one notebook's entry."""
    runs = entry.get("runs", [])
    return sum(bool(r.get("passed")) for r in runs), len(runs)


def seeds_text(seeds: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts, seeds = [], sorted(set(seeds))
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ", ".join(parts)


def fmt(x: float) -> str:
    """A number to 3 significant digits, integers as they are."""
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e6 else f"{x:.3g}"


def failure_text(run: dict[str, Any]) -> str:
    """``seed 7: cell 17 (`assert ...`) AssertionError: message``."""
    f = run.get("failure") or {}
    where = f"cell {f.get('cell_index')} (`{f.get('first_line', '')}`) " if f.get("cell_index") is not None else ""
    return f"seed {run['seed']}: {where}{f.get('exception', 'error')}: {f.get('message', '')}".strip()


def rerun_command(path: str, mode: str) -> str:
    """The sweep that refreshes ``path`` in ``mode``: the issue's sizes, 30 quick or 10 full seeds."""
    seeds = "0-29" if mode == "quick" else "0-9"
    return f'make sweep NOTEBOOKS="{path}" SEEDS="{seeds}" MODE={mode} JOBS=2 OUT=sweeps/{mode}-<name>.json'


def pass_cell(found: dict[str, Any] | None, fingerprint: str) -> str:
    """One table cell: ``"30/30 seeds (0-29)"``, ``"not swept"``, or with ``stale``."""
    if found is None:
        return "not swept"
    entry = found["entry"]
    passed, n = pass_rate(entry)
    text = f"{passed}/{n} seeds ({seeds_text([r['seed'] for r in entry['runs']])})"
    if entry.get("fingerprint") != fingerprint:
        text += " — stale: the notebook's code changed since"
    return text


def stale_sweeps(sweeps: list[dict[str, Any]], notebooks: dict[str, Path]) -> list[str]:
    """A message per (notebook, mode) whose newest sweep ran an older version of its code."""
    problems = []
    for docname, path in notebooks.items():
        for mode in MODES:
            found = latest(sweeps, docname, mode)
            if found and found["entry"].get("fingerprint") != sweep_fingerprint(path):
                rel = found["entry"].get("path", f"{docname}.ipynb")
                problems.append(f"{rel}: its code changed since its {mode}-mode sweep "
                                f"({found['sweep']['file']}); re-run `{rerun_command(rel, mode)}` "
                                f"and commit the file (delete the old one if it swept nothing else)")
    return problems


def _stats_text(s: dict[str, float] | None) -> str:
    if s is None:
        return "—"
    return f"{fmt(s['mean'])} ± {fmt(s['sd'])} ({fmt(s['min'])} to {fmt(s['max'])}, n={s['n']})"


def robustness_rows(notebooks: dict[str, Path], sweeps: list[dict[str, Any]]) -> list[list[str]]:
    """Rows ``[docname, quick pass rate, full pass rate]`` for every notebook, swept or not."""
    return [[doc, *(pass_cell(latest(sweeps, doc, mode), sweep_fingerprint(path)) for mode in MODES)]
            for doc, path in notebooks.items()]


def claim_rows(docname: str, sweeps: list[dict[str, Any]]) -> list[list[str]]:
    """Rows ``[chapter/key, quick "mean ± sd (min to max, n)", full ...]`` of one notebook."""
    stats = {}
    for mode in MODES:
        found = latest(sweeps, docname, mode)
        stats[mode] = number_stats(found["entry"]["runs"]) if found else {}
    keys = sorted(set().union(*stats.values()))
    return [[key, *(_stats_text(stats[mode].get(key)) for mode in MODES)] for key in keys]


def failures(docname: str, sweeps: list[dict[str, Any]]) -> list[str]:
    """``"quick mode, seed 7: cell 17 (...) AssertionError: ..."`` for each failed run shown."""
    out = []
    for mode in MODES:
        found = latest(sweeps, docname, mode)
        runs = found["entry"]["runs"] if found else []
        out += [f"{mode} mode, {failure_text(r)}" for r in runs if not r.get("passed")]
    return out


def _results_by_seed(sweeps: list[dict[str, Any]], mode: str) -> dict[int, dict[str, dict[str, Any]]]:
    """``{seed: {chapter: {key: {"value": v}}}}`` from the passed runs of the newest sweep of each
    chapter in ``mode`` (the shape :func:`rlvae_tutorial.claims.assess` reads)."""
    docnames = {doc for s in sweeps if s.get("mode") == mode for doc in s.get("notebooks", {})}
    by_seed: dict[int, dict[str, dict[str, Any]]] = {}
    for doc in sorted(docnames):
        found = latest(sweeps, doc, mode)
        for run in found["entry"]["runs"] if found else []:
            if not run.get("passed"):
                continue  # a failed run is listed under its chapter; its partial results are not used
            for name, value in run.get("results", {}).items():
                chapter, _, key = name.partition("/")
                by_seed.setdefault(int(run["seed"]), {}).setdefault(chapter, {})[key] = {"value": value}
    return by_seed


def _verdict_text(statuses: list[str]) -> str:
    if not statuses:
        return "—"
    counts = Counter(statuses).most_common()  # most frequent first, ties in order of first appearance
    parts = ", ".join(f"{status} {n}" for status, n in counts)
    same = "the same for every seed" if len(counts) == 1 else "changes with the seed"
    return f"{parts} (of {len(statuses)} seed{'s' if len(statuses) != 1 else ''}: {same})"


def verdict_rows(sweeps: list[dict[str, Any]]) -> list[list[str]]:
    """Rows ``[claim title, quick verdicts, full verdicts]``: each closing-chapter verdict that the
    sweeps measured, as it comes out for every swept seed (the rule of
    :mod:`rlvae_tutorial.claims` applied to that seed's recorded results), with how often each
    status came out, e.g. ``"could not tell 10 (of 10 seeds: the same for every seed)"``."""
    from rlvae_tutorial.claims import CLAIMS, NOT_MEASURED, assess

    statuses: dict[str, dict[str, list[str]]] = {}
    for mode in MODES:
        for _seed, results in sorted(_results_by_seed(sweeps, mode).items()):
            for claim in CLAIMS:
                verdict = assess(claim, results)
                if verdict.status != NOT_MEASURED:
                    statuses.setdefault(claim.title, {}).setdefault(mode, []).append(verdict.status)
    return [[claim.title, *(_verdict_text(statuses[claim.title].get(mode, [])) for mode in MODES)]
            for claim in CLAIMS if claim.title in statuses]


def describe_sweep(sweep: dict[str, Any]) -> str:
    """One sentence: which file, mode, seeds, when, at which commit, on what machine."""
    m = sweep.get("machine", {})
    cut = "" if sweep.get("complete") else " It was cut short: only the seeds that finished count."
    return (f"{sweep['file']}: {sweep['mode']} mode, seeds {seeds_text(sweep['seeds'])}, started "
            f"{sweep['started_at'][:16].replace('T', ' ')} UTC at commit {sweep.get('commit', '')[:10]}"
            f"{' (with uncommitted changes)' if sweep.get('dirty') else ''}, on {m.get('cpu_count')} CPU "
            f"cores ({m.get('cpu', '')}), device {m.get('device')}, {sweep.get('jobs')} runs side by side, "
            f"PyTorch {m.get('torch')}.{cut} Command: python {sweep.get('command', 'scripts/sweep.py')}")


# Another seed than the default in CI: the quick build and nbval run the notebooks with a seed
# injected the way papermill injects parameters (a cell tagged ``injected-parameters`` after the
# ``parameters`` cell), so the parameters cells stay plain ``seed = 0`` and the page shows the
# seed it ran with.
SEED_ENV = "RLVAE_SEED"


def env_seed() -> int | None:
    """``$RLVAE_SEED`` as an int, or None when unset or empty."""
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV}={raw!r} is not a seed; use an integer such as 3, or unset it") from None


def with_seed(notebook_json: str, seed: int) -> str:
    """The notebook (nbformat JSON text) with a cell ``seed = <seed>`` after its parameters cell.

    The cell is tagged ``injected-parameters``, as papermill tags the one it injects.
    """
    import nbformat

    nb = nbformat.reads(notebook_json, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError("the notebook has no cell tagged 'parameters' to inject a seed after; "
                         "every chapter needs one (seed = 0, quick = None, device = None)")
    cell = nbformat.v4.new_code_cell(f"# Parameters injected by {SEED_ENV}\nseed = {int(seed)}",
                                     id=f"injected-seed-{int(seed)}")
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(tagged[0] + 1, cell)
    return nbformat.writes(nb)
