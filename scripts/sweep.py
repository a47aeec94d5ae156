"""Run chapters for many seeds and record what held: the seed sweep behind the robustness appendix.

    python scripts/sweep.py run book/vae_elbo.ipynb book/vae_beta.ipynb --seeds 0-29 \
        --mode quick --jobs 2 --out sweeps/quick-vae.json
    python scripts/sweep.py summary sweeps/quick-vae.json
    python scripts/sweep.py with-seed 2 _build/nbval book/*.ipynb   # copies for nbval (make test)

(``make sweep NOTEBOOKS="..." SEEDS=0-29 MODE=quick JOBS=2 OUT=...`` runs the first offline.)

Each seed's notebooks run one after the other, in the order given, with papermill
(``-p seed S -p quick True|False``), in a fresh kernel on one torch thread, their working
directory the notebook's folder, and a private ``RLVAE_RESULTS_DIR`` per seed: a chapter that
reads earlier chapters' results (``post_claims``) sees those of the same seed when they are
listed before it.  Up to ``--jobs`` seeds run side by side.  For every notebook and seed the file
stores pass/fail, the failing cell (index in the notebook, id, first line), the exception and its
message, the run time, and every number the run recorded with ``record_result`` (``chapter/key``).
The format is described in ``sphinxext/robustness.py``; the file is rewritten after every seed,
so a sweep cut short keeps what finished (``"complete": false``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sphinxext.robustness import (  # noqa: E402
    FORMAT,
    MODES,
    failure_text,
    fmt,
    number_stats,
    pass_rate,
    seeds_text,
    sweep_fingerprint,
    with_seed,
)


def parse_seeds(text: str) -> list[int]:
    """``"0-29"``, ``"0-4,42"`` or ``"3 5 7"`` -> sorted distinct seeds."""
    seeds: set[int] = set()
    for part in text.replace(",", " ").split():
        try:
            lo, _, hi = part.partition("-")
            seeds.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise ValueError(f"cannot read seeds {text!r}: write e.g. '0-29', '0-4,42' or '3 5 7'") from None
    if not seeds:
        raise ValueError(f"no seeds in {text!r}: write e.g. '0-29'")
    return sorted(seeds)


def docname(path: Path) -> str:
    """``book/vae_elbo.ipynb`` -> ``book/vae_elbo`` (the book's name of the page)."""
    path = path.resolve()
    return (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).with_suffix("").as_posix()


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def failure_of(executed: Path, notebook: Path) -> dict[str, Any] | None:
    """The first cell of ``executed`` with an error output, located in the source ``notebook``."""
    if not executed.exists():
        return None
    cells = json.loads(executed.read_text())["cells"]
    source_ids = [c.get("id") for c in json.loads(notebook.read_text())["cells"]]
    for cell in cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("cell_type") == "code" and errors:
            lines = [line.strip() for line in _source(cell).splitlines() if line.strip()]
            cid = cell.get("id")
            return {"cell_index": source_ids.index(cid) if cid in source_ids else None,
                    "cell_id": cid, "first_line": lines[0][:120] if lines else "",
                    "exception": errors[0].get("ename", ""), "message": errors[0].get("evalue", "")}
    return None


def _records(results_dir: Path) -> dict[str, str]:
    """``{"chapter/key": record as JSON}`` of everything recorded so far in ``results_dir``."""
    out = {}
    for path in results_dir.glob("*/*.json"):
        for key, record in json.loads(path.read_text()).items():
            out[f"{path.stem}/{key}"] = json.dumps(record, sort_keys=True)
    return out


def run_one(notebook: Path, seed: int, quick: bool, results_dir: Path, timeout: float) -> dict[str, Any]:
    """Execute one notebook with papermill for one seed; the run's record (see module doc)."""
    before = _records(results_dir)
    env = dict(os.environ, RLVAE_QUICK="1" if quick else "0", RLVAE_RESULTS_DIR=str(results_dir),
               RLVAE_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    executed = results_dir.parent / f"{notebook.stem}-seed{seed}.ipynb"
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(executed), "-k", "python3",
           "-p", "seed", str(seed), "-p", "quick", str(quick), "--cwd", str(notebook.parent),
           "--no-progress-bar", "--log-level", "ERROR"]
    start = datetime.now(UTC)
    # A session of its own, so that a run past its time is stopped with its kernel.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        code, tail = proc.returncode, (stderr or stdout).strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        code, tail = None, [f"the run took longer than {timeout:g} s and was stopped"]
    runtime = (datetime.now(UTC) - start).total_seconds()
    failure = None
    if code != 0:
        failure = failure_of(executed, notebook) or {
            "cell_index": None, "cell_id": None, "first_line": "",
            "exception": "Timeout" if code is None else "RunError", "message": " ".join(tail)}
    after = _records(results_dir)
    results = {k: json.loads(v)["value"] for k, v in sorted(after.items()) if before.get(k) != v}
    return {"seed": seed, "passed": code == 0, "runtime_s": round(runtime, 1),
            "failure": failure, "results": results}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _write(data: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, out)


def run_sweep(notebooks: list[Path], seeds: list[int], mode: str, jobs: int, out: Path,
              timeout: float = 1800, progress: bool = True) -> dict[str, Any]:
    """Run every notebook for every seed (``jobs`` seeds at a time); write and return the file."""
    from tqdm.auto import tqdm

    from sphinxext.runtimes import machine_info

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook: {missing}; give paths like book/vae_elbo.ipynb")
    notebooks = [p.resolve() for p in notebooks]
    data: dict[str, Any] = {
        "format": FORMAT, "mode": mode, "seeds": seeds, "jobs": jobs,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "finished_at": None,
        "complete": False, "commit": _git("rev-parse", "HEAD"),
        # uncommitted changes other than sweep results (a sweep clone accumulates those as it goes)
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)sweeps")),
        "machine": machine_info(), "command": " ".join(sys.argv),
        "notebooks": {docname(p): {"path": docname(p) + ".ipynb",
                                   "fingerprint": sweep_fingerprint(p), "runs": []}
                      for p in notebooks}}
    lock = threading.Lock()
    bar = tqdm(total=len(seeds) * len(notebooks), desc=f"sweep ({mode})", unit="run",
               disable=not progress)

    def one_seed(seed: int) -> None:
        with tempfile.TemporaryDirectory(prefix=f"rlvae-sweep-{seed}-") as tmp:
            (Path(tmp) / "results").mkdir()
            for nb in notebooks:
                run = run_one(nb, seed, mode == "quick", Path(tmp) / "results", timeout)
                with lock:
                    data["notebooks"][docname(nb)]["runs"].append(run)
                    if not run["passed"]:
                        bar.write(f"FAIL {docname(nb)} {failure_text(run)}")
                    bar.update()
        with lock:
            for entry in data["notebooks"].values():
                entry["runs"].sort(key=lambda r: r["seed"])
            _write(data, out)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one_seed, seeds))
    bar.close()
    data.update(complete=True, finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write(data, out)
    return data


def summary(data: dict[str, Any]) -> str:
    """Per notebook: pass rate and failures; per recorded number: mean, sd, min, max."""
    m = data.get("machine", {})
    lines = [f"{data['mode']} mode, seeds {seeds_text(data['seeds'])}, started {data['started_at']}, "
             f"commit {data.get('commit', '')[:10]}{' (dirty)' if data.get('dirty') else ''}, "
             f"{m.get('cpu_count')} cores, {data['jobs']} jobs"
             f"{'' if data.get('complete') else ' (INCOMPLETE: cut short)'}"]
    for name, entry in data["notebooks"].items():
        passed, n = pass_rate(entry)
        rate = f"{100 * passed / n:.0f}%" if n else "-"
        time = [r["runtime_s"] for r in entry["runs"]]
        mean_time = f", {sum(time) / len(time):.0f} s a run" if time else ""
        lines.append(f"\n{name}: {passed}/{n} passed ({rate}){mean_time}")
        lines += [f"  FAILED {failure_text(r)}" for r in entry["runs"] if not r["passed"]]
        for key, s in number_stats(entry["runs"]).items():
            lines.append(f"  {key}: mean {fmt(s['mean'])}, sd {fmt(s['sd'])}, "
                         f"min {fmt(s['min'])}, max {fmt(s['max'])} (n={s['n']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run notebooks for many seeds and write a sweep file")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--seeds", default="0-29", help="e.g. 0-29, 0-4,42 (default 0-29)")
    run.add_argument("--mode", choices=MODES, default="quick")
    run.add_argument("--jobs", type=int, default=2, help="seeds run side by side (default 2)")
    run.add_argument("--out", type=Path, help="the sweep file (default sweeps/<mode>-<time>.json)")
    run.add_argument("--timeout", type=float, default=1800, help="seconds per notebook run")
    show = sub.add_parser("summary", help="print a sweep file's pass rates and statistics")
    show.add_argument("file", type=Path)
    seeded = sub.add_parser("with-seed", help="copy notebooks with another seed injected (for nbval)")
    seeded.add_argument("seed", type=int)
    seeded.add_argument("folder", type=Path)
    seeded.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "with-seed":
        args.folder.mkdir(parents=True, exist_ok=True)
        for nb in args.notebooks:
            (args.folder / nb.name).write_text(with_seed(nb.read_text(), args.seed))
        return 0
    if args.command == "summary":
        print(summary(json.loads(args.file.read_text())))
        return 0
    out = args.out or ROOT / "sweeps" / f"{args.mode}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    data = run_sweep(args.notebooks, parse_seeds(args.seeds), args.mode, args.jobs, out)
    print(summary(data))
    print(f"\nwritten to {out}")
    return 0 if all(r["passed"] for e in data["notebooks"].values() for r in e["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
