from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlvae_tutorial.checkpoint import load_checkpoint, save_checkpoint
from rlvae_tutorial.vae import VAE, VAEConfig


@pytest.mark.parametrize("name", ["m.safetensors", "m.pt"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    a = VAE(VAEConfig(likelihood="gaussian"))
    b = VAE(VAEConfig(likelihood="gaussian"))
    path = save_checkpoint(a, tmp_path / name, {"epoch": 12, "note": "best"})
    assert load_checkpoint(b, path) == {"epoch": "12", "note": "best"}
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_pt_files_are_read_with_weights_only(tmp_path: Path) -> None:
    """A pickle that would run code is refused: the loader uses weights_only=True."""

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"state_dict": Evil()}, path)
    with pytest.raises(ValueError, match=r"not a readable torch state_dict \(read with weights_only=True\)"):
        load_checkpoint(VAE(), path)
    # A bare state_dict (torch.save(model.state_dict())) loads too.
    torch.save(VAE().state_dict(), tmp_path / "bare.pt")
    assert load_checkpoint(VAE(), tmp_path / "bare.pt") == {}


@pytest.mark.parametrize("name", ["m.safetensors", "m.pt"])
def test_corrupt_file_is_explained(tmp_path: Path, name: str) -> None:
    path = save_checkpoint(VAE(), tmp_path / name)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 3])  # truncated, as by a crash mid-write
    with pytest.raises(ValueError, match=r"is not a readable .* checkpoint .*corrupt, truncated"):
        load_checkpoint(VAE(), path)
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="delete it and write it again with save_checkpoint"):
        load_checkpoint(VAE(), path)


def test_missing_and_mismatched_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*nope.safetensors"):
        load_checkpoint(VAE(), tmp_path / "nope.safetensors")
    path = save_checkpoint(VAE(VAEConfig(z_dim=2)), tmp_path / "z2.safetensors")
    with pytest.raises(ValueError, match=r"does not fit this model: .*file \(4, 256\) vs model \(16, 256\).*VAEConfig"):
        load_checkpoint(VAE(VAEConfig(z_dim=8)), path)
    path = save_checkpoint(VAE(VAEConfig(likelihood="gaussian")), tmp_path / "g.safetensors")
    with pytest.raises(ValueError, match=r"unexpected keys \['decoder.log_std'\]"):
        load_checkpoint(VAE(), path)
