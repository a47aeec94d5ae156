from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from rlvae_tutorial.checkpoint import load_checkpoint, save_checkpoint
from rlvae_tutorial.train import TrainConfig, train
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


class Tied(nn.Module):
    """One Parameter under two names (an input embedding shared with the output layer), and a
    buffer that is a view of another (two tensors overlapping in one storage)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 3, bias=False)
        self.out = nn.Linear(4, 3, bias=False)
        self.out.weight = self.embed.weight  # tied: state_dict holds embed.weight and out.weight
        self.register_buffer("table", torch.arange(6.0))
        self.register_buffer("head", self.table[:2])  # a view of table's memory


@pytest.mark.parametrize("name", ["m.safetensors", "m.pt", "m.pth", "m.bin"])
def test_tied_weights_save_in_every_format_and_reload_tied(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    a, b = Tied(), Tied()
    path = save_checkpoint(a, tmp_path / name, {"note": "tied"})
    assert load_checkpoint(b, path) == {"note": "tied"}  # the alias map is not user metadata
    assert b.out.weight is b.embed.weight, "still one Parameter after loading"
    for k, v in a.state_dict().items():
        assert torch.equal(b.state_dict()[k], v), k
    with torch.no_grad():
        b.embed.weight.add_(1.0)
    assert torch.equal(b.out.weight, b.embed.weight)
    if name.endswith((".safetensors", ".bin")):
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            assert "out.weight" not in set(f.keys()) and "embed.weight" in set(f.keys())  # stored once


def test_reserved_metadata_key_and_directory_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved for tied weights"):
        save_checkpoint(Tied(), tmp_path / "m.safetensors", {"__tied__": "x"})
    with pytest.raises(IsADirectoryError, match="give a file name"):
        save_checkpoint(Tied(), tmp_path)


def test_train_checks_the_checkpoint_path_before_training(tmp_path: Path) -> None:
    calls = []

    def loss_fn(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        calls.append(1)
        return model.embed(batch).pow(2).mean(), {}

    data = torch.randn(8, 4)
    with pytest.raises(IsADirectoryError):
        train(Tied(), loss_fn, data, config=TrainConfig(epochs=2), checkpoint=tmp_path, progress=False)
    assert calls == [], "the bad path was found before the first step"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((FileExistsError, NotADirectoryError)):
        train(Tied(), loss_fn, data, checkpoint=blocker / "m.safetensors", progress=False)
    assert calls == []
    # A tied model through train(): saved once at the end, no trial file left behind.
    model = Tied()
    train(model, loss_fn, data, config=TrainConfig(epochs=2), checkpoint=tmp_path / "t.safetensors", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "t.safetensors"]
    fresh = Tied()
    load_checkpoint(fresh, tmp_path / "t.safetensors")
    assert torch.equal(fresh.out.weight, model.embed.weight) and fresh.out.weight is fresh.embed.weight
