"""Save and load model weights safely: safetensors, or a state_dict read with ``weights_only=True``.

Neither format runs code when loaded (unlike a plain ``torch.load`` of a pickle).  The format
follows the file name: ``.pt`` / ``.pth`` is a ``torch.save``d state_dict, anything else
(``.safetensors`` recommended) is safetensors.  Loading checks that the file fits the model and
says what does not (missing or unexpected keys, shapes).

Tied weights (one Parameter registered under two names, e.g. an embedding shared with an output
layer) are saved once: safetensors refuses tensors that share memory, so every further name of a
tensor is written as an alias in the header (key ``__tied__``) and restored on loading, where
``load_state_dict`` copies the same values into the one shared Parameter: it stays tied.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

TORCH_SUFFIXES = (".pt", ".pth")
TIED_KEY = "__tied__"  # metadata key of the alias map {name: name it shares its tensor with}


def _is_torch_file(path: Path) -> bool:
    return path.suffix.lower() in TORCH_SUFFIXES


def _untied(state: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The state with every tensor stored once, and the aliases {name: name of the same tensor}.

    Names of one tensor (same memory, shape and strides) become aliases; tensors that only
    overlap in memory (views of one buffer) are copied, so that no two stored tensors share it.
    """
    first: dict[tuple, str] = {}
    kept: dict[str, Tensor] = {}
    aliases: dict[str, str] = {}
    storages: dict[tuple, int] = {}
    for name, t in state.items():
        ptr = (t.device, t.untyped_storage().data_ptr())
        key = (*ptr, t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        if key in first and t.numel() > 0:
            aliases[name] = first[key]
            continue
        first[key] = name
        kept[name] = t
        storages[ptr] = storages.get(ptr, 0) + 1
    shared = {n for n, t in kept.items() if storages[(t.device, t.untyped_storage().data_ptr())] > 1}
    out = {n: (t.detach().to("cpu").clone() if n in shared else t.detach().to("cpu")).contiguous()
           for n, t in kept.items()}
    return out, aliases


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``model.state_dict()`` to ``path`` (tensors moved to the CPU) and return the path.

    ``metadata`` (strings only) is stored in a safetensors header; ``.pt`` files store it under
    the key ``"__metadata__"`` of a plain dict.  Tied weights are stored once (module docstring).
    """
    path = Path(path)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    if TIED_KEY in meta:
        raise ValueError(f"the metadata key {TIED_KEY!r} is reserved for tied weights; rename it")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {path} is a directory; give a file name such as model.safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state, aliases = _untied(model.state_dict())
    if aliases:
        meta[TIED_KEY] = json.dumps(aliases, sort_keys=True)
    if _is_torch_file(path):
        torch.save({"state_dict": state, "__metadata__": meta}, path)
    else:
        save_file(state, str(path), metadata=meta)
    return path


def check_checkpoint_path(model: nn.Module, path: str | Path) -> None:
    """Fail now, not after hours of training, if ``model`` cannot be saved to ``path``.

    Writes a trial checkpoint of the current weights next to ``path`` (same format) and deletes
    it: a directory that cannot be created or written, a path that is a directory, or weights the
    format cannot hold raise here.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {path} is a directory; give a file name such as model.safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, trial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        save_checkpoint(model, trial)
    finally:
        Path(trial).unlink(missing_ok=True)


def _read(path: Path, device: torch.device) -> tuple[dict[str, Tensor], dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: check the path, or train and save_checkpoint first")
    fmt = "torch state_dict (read with weights_only=True)" if _is_torch_file(path) else "safetensors"
    try:
        if _is_torch_file(path):
            blob = torch.load(path, map_location=device, weights_only=True)
            if not isinstance(blob, dict):
                raise TypeError(f"expected a dict, found {type(blob).__name__}")
            meta = blob.get("__metadata__", {}) if "state_dict" in blob else {}
            state = dict(blob["state_dict"] if "state_dict" in blob else blob)
            meta = dict(meta)
        else:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
            state = load_file(str(path), device=str(device))
        for alias, source in json.loads(meta.pop(TIED_KEY, "{}")).items():
            state[alias] = state[source]
        return state, meta
    except Exception as exc:  # noqa: BLE001 - any failure to parse means the same thing
        raise ValueError(
            f"{path} is not a readable {fmt} checkpoint ({type(exc).__name__}: {exc}). The file is "
            "corrupt, truncated, or in another format; delete it and write it again with save_checkpoint"
        ) from exc


def load_checkpoint(model: nn.Module, path: str | Path) -> dict[str, str]:
    """Load weights saved by :func:`save_checkpoint` into ``model`` (in place); return the metadata.

    Raises ``FileNotFoundError`` for a missing file, ``ValueError`` for a corrupt one, and
    ``ValueError`` listing missing/unexpected keys and shape mismatches when the file was saved
    from a different architecture.
    """
    path = Path(path)
    expected = model.state_dict()
    device = next((t.device for t in expected.values()), torch.device("cpu"))
    state, meta = _read(path, device)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = {
        k: (tuple(state[k].shape), tuple(expected[k].shape))
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    }
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}")
        if shapes:
            parts.append(", ".join(f"{k}: file {a} vs model {b}" for k, (a, b) in sorted(shapes.items())[:5]))
        raise ValueError(
            f"checkpoint {path} does not fit this model: {'; '.join(parts)}. Was it saved from a model "
            "with another configuration (e.g. a different VAEConfig)? Build the model with that config."
        )
    model.load_state_dict(state)
    return meta
