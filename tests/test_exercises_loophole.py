"""The reference loophole is closed for every exercise (rlvae_tutorial/exercises/guard.py).

A student's function that is, wraps or calls the package's reference for its exercise fails the
check with a message that says so, however the reference is reached: the bare reference, an alias,
a lambda wrapper, a ``functools.partial``, a copy imported under another name, a call through the
module, a copy of its code, a wrapper that swallows exceptions.  The student code runs in a fresh
namespace, as a notebook's cells do.
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest
import torch

from rlvae_tutorial.exercises import guard

MODULES = ["getting_started", "rl", "vae_elbo", "vae_beta", "rlvae", "applications", "latents", "post_errata"]
CHECKS = {
    f"{m}.{name}": check
    for m in MODULES
    for name, check in inspect.getmembers(importlib.import_module(f"rlvae_tutorial.exercises.{m}"))
    if name.startswith("check_") and inspect.isfunction(check)
}
WITH_REFERENCE = {k: c for k, c in CHECKS.items() if c.references}
# Student code that solves the exercise with the reference; {module}, {attr} name the reference.
CHEATS = {
    "bare": "from {module} import {attr}\nmine = {attr}",
    "alias": "import {module} as pkg\nmine = pkg.{attr}",
    "lambda": "from {module} import {attr}\nmine = lambda *a, **k: {attr}(*a, **k)",
    "partial": "import functools\nfrom {module} import {attr}\nmine = functools.partial({attr})",
    "renamed": "from {module} import {attr} as helper\ndef mine(*a, **k):\n    return helper(*a, **k)",
    "module": "import importlib\ndef mine(*a, **k):\n    return importlib.import_module('{module}').{attr}(*a, **k)",
    "closure": "from {module} import {attr}\ndef make(f):\n    return lambda *a, **k: f(*a, **k)\nmine = make({attr})",
    "default": "from {module} import {attr}\ndef mine(*a, _f={attr}):\n    return _f(*a)",
    "swallowed": ("from {module} import {attr} as h\ndef mine(*a, **k):\n    try:\n        return h(*a, **k)\n"
                  "    except Exception:\n        return None"),
    "code copy": ("import types\nfrom {module} import {attr} as h\n"
                  "mine = types.FunctionType(h.__code__, h.__globals__, 'mine', h.__defaults__, h.__closure__)"),
}


def test_every_check_is_guarded() -> None:
    assert len(CHECKS) == 37
    for key, check in CHECKS.items():
        assert getattr(check, "exercise", None), f"{key} is not decorated with guard.exercise"
        for path in check.references:
            assert callable(guard.resolve(path)), path
    # the three checks without a package function of their own
    assert sorted(set(CHECKS) - set(WITH_REFERENCE)) == [
        "applications.check_penalized_advantage", "applications.check_sequence_kl", "rlvae.check_bernoulli_kl"]


@pytest.mark.parametrize("cheat", list(CHEATS))
@pytest.mark.parametrize("key", list(WITH_REFERENCE))
def test_the_reference_in_any_disguise_fails(key: str, cheat: str) -> None:
    check = CHECKS[key]
    module, _, attr = check.references[0].partition(":")
    namespace: dict = {"__name__": "__student__"}
    exec(CHEATS[cheat].format(module=module, attr=attr), namespace)  # noqa: S102 - the student's cell
    with pytest.raises(AssertionError, match=guard.LOOPHOLE) as err:
        check(namespace["mine"], quiet=True)
    assert check.exercise in str(err.value)


def test_traps_are_removed_after_the_check() -> None:
    from rlvae_tutorial.exercises.rl import check_discounted_returns
    from rlvae_tutorial.rl import returns

    before = returns.discounted_returns
    with pytest.raises(AssertionError, match=guard.LOOPHOLE):
        check_discounted_returns(lambda r, g, d: returns.discounted_returns(r, g, d), quiet=True)
    assert returns.discounted_returns is before
    assert torch.equal(before(torch.ones(2), 0.5), torch.tensor([1.5, 1.0]))


def test_other_package_functions_stay_usable() -> None:
    """Only the exercise's own reference is trapped: the ELBO may use the package's Gaussian KL."""
    from torch.distributions import Bernoulli, Independent

    from rlvae_tutorial.exercises.vae_elbo import check_elbo
    from rlvae_tutorial.vae.losses import gaussian_kl

    check_elbo(lambda x, lg, mu, lv: Independent(Bernoulli(logits=lg), 1).log_prob(x) - gaussian_kl(mu, lv))


def test_innermost_unwraps_partials_and_methods() -> None:
    def f(x: int) -> int:
        return x

    class Holder:
        def m(self, x: int) -> int:
            return x

    import functools

    assert guard._innermost(functools.partial(functools.partial(f, 1))) is f
    assert guard._innermost(types.MethodType(f, object())) is f
    assert guard.is_reference(Holder().m, [Holder.m]) is Holder.m
