from __future__ import annotations

import pytest
import torch

from rlvae_tutorial import get_device, resolve_quick, seed_everything, setup
from rlvae_tutorial.device import configure_cpu_threads


def test_auto_device_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLVAE_DEVICE", raising=False)
    device = get_device()
    assert device.type in {"cpu", "cuda", "mps"}
    if torch.cuda.is_available():
        assert device.type == "cuda"


def test_cpu_is_always_allowed_and_sets_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLVAE_NUM_THREADS", raising=False)
    assert get_device("cpu") == torch.device("cpu")
    assert torch.get_num_threads() == 1


def test_env_var_overrides_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVAE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("auto") == torch.device("cpu")


def test_explicit_argument_beats_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVAE_DEVICE", "not-a-device")
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu", "cuda:x", "cpu:0", ""])
def test_unknown_device_names_the_allowed_ones(bad: str) -> None:
    with pytest.raises(ValueError, match="allowed: auto, cpu, cuda"):
        get_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available.*use device='cpu'"):
        get_device("cuda")


def test_bad_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVAE_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="RLVAE_NUM_THREADS='many' is not an integer"):
        configure_cpu_threads()
    with pytest.raises(ValueError, match="must be >= 1"):
        configure_cpu_threads(0)
    monkeypatch.delenv("RLVAE_NUM_THREADS")
    assert configure_cpu_threads() == 1


def test_seed_everything_is_deterministic() -> None:
    g1 = seed_everything(123)
    a, ga = torch.randn(5), torch.randn(5, generator=g1)
    g2 = seed_everything(123)
    b, gb = torch.randn(5), torch.randn(5, generator=g2)
    assert torch.equal(a, b) and torch.equal(ga, gb)
    assert not torch.equal(torch.randn(5, generator=seed_everything(124)), gb)


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_non_integer_seed_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        seed_everything(bad)  # type: ignore[arg-type]


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\)"):
        seed_everything(-1)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_quick_reads_env(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("RLVAE_QUICK", raw)
    assert resolve_quick(None) is expected
    assert resolve_quick(not expected) is (not expected)  # an explicit value wins


def test_quick_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVAE_QUICK", "maybe")
    with pytest.raises(ValueError, match="RLVAE_QUICK='maybe' is not understood"):
        resolve_quick(None)
    with pytest.raises(TypeError, match="quick must be True, False or None"):
        resolve_quick("yes")  # type: ignore[arg-type]


def test_setup_bundles_parameters() -> None:
    s = setup(seed=7, quick=True, device="cpu")
    assert (s.seed, s.quick, s.device) == (7, True, torch.device("cpu"))
    assert s.pick(1, 100) == 1
    assert setup(seed=7, quick=False, device="cpu").pick(1, 100) == 100


def test_auto_prefers_cuda_then_mps_when_they_report_available(monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: pretend, to check the order of preference and the MPS probe themselves.
    monkeypatch.delenv("RLVAE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda") and get_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.backends, "mps", None)  # a torch built without the MPS backend
    assert get_device() == torch.device("cpu")


def test_a_device_object_or_the_env_var_is_honoured_when_cuda_reports_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv("RLVAE_DEVICE", raising=False)
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("RLVAE_DEVICE", "cpu")
    assert get_device("auto") == torch.device("cpu")


def test_a_non_string_device_gets_a_whole_message() -> None:
    with pytest.raises(TypeError, match=r"^device must be a string such as 'cpu' or 'cuda', got <class 'int'>$"):
        get_device(3)  # type: ignore[arg-type]


def _pretend_gpus(monkeypatch: pytest.MonkeyPatch, n_cuda: int, mps: bool) -> None:
    monkeypatch.delenv("RLVAE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n_cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def test_explicit_cuda_index_and_mps_with_pretended_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_gpus(monkeypatch, n_cuda=2, mps=True)
    assert get_device("cuda") == torch.device("cuda")
    assert get_device("cuda:1") == torch.device("cuda", 1)
    assert get_device("mps") == torch.device("mps")
    with pytest.raises(RuntimeError, match=r"^device 'cuda:2' was requested but only 2 CUDA device\(s\) exist$"):
        get_device("cuda:2")
    _pretend_gpus(monkeypatch, n_cuda=0, mps=False)
    with pytest.raises(RuntimeError, match=r"^device 'mps' was requested but MPS is not available; use 'cpu' or 'auto'$"):
        get_device("mps")
    with pytest.raises(
        RuntimeError,
        match=r"^device 'cuda' was requested but CUDA is not available \(no NVIDIA GPU or a CPU-only torch build\); "
        r"use device='cpu' or 'auto', or unset RLVAE_DEVICE$",
    ):
        get_device("cuda")


def test_only_the_cpu_resets_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLVAE_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        _pretend_gpus(monkeypatch, n_cuda=1, mps=False)
        torch.set_num_threads(2)
        get_device("cuda")
        assert torch.get_num_threads() == 2
        get_device("cpu")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
