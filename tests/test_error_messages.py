"""The core functions' errors say exactly what was wrong and how to fix it.

Mutation testing (``make mutation``) found messages whose wording, or the shape they quote,
could change without any test noticing; these pin the whole message where it names the fix.
"""

from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.rl.returns import discounted_returns, gae


def test_gae_quotes_the_shape_or_type_of_bad_values() -> None:
    r = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"V\(s_t\) for every step\), got \(3,\)$"):
        gae(r, torch.zeros(3), 0.0, None, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"shaped like rewards \(2, 3\) .* got list$"):
        gae(r, [0.0, 0.0, 0.0], 0.0, None, 0.9, 0.9)  # type: ignore[arg-type]


def test_flag_shape_error_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"^terminated has shape \(2,\) but rewards have \(3,\); "
                                         r"pass one flag per reward$"):
        discounted_returns(torch.zeros(3), 0.9, torch.zeros(2, dtype=torch.bool))
