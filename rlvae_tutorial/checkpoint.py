"""Save and load model weights safely: safetensors, or a state_dict read with ``weights_only=True``.

Neither format runs code when loaded (unlike a plain ``torch.load`` of a pickle).  The format
follows the file name: ``.pt`` / ``.pth`` is a ``torch.save``d state_dict, anything else
(``.safetensors`` recommended) is safetensors.  Loading checks that the file fits the model and
says what does not (missing or unexpected keys, shapes).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

TORCH_SUFFIXES = (".pt", ".pth")


def _is_torch_file(path: Path) -> bool:
    return path.suffix.lower() in TORCH_SUFFIXES


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``model.state_dict()`` to ``path`` (tensors moved to the CPU) and return the path.

    ``metadata`` (strings only) is stored in a safetensors header; ``.pt`` files store it under
    the key ``"__metadata__"`` of a plain dict.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    if _is_torch_file(path):
        torch.save({"state_dict": state, "__metadata__": meta}, path)
    else:
        save_file(state, str(path), metadata=meta)
    return path


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
            state = blob["state_dict"] if "state_dict" in blob else blob
            return dict(state), dict(meta)
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path), device=str(device)), dict(meta)
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
