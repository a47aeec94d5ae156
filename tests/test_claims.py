"""The claims' verdict rules on synthetic results: present, missing, and at their thresholds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from rlvae_tutorial.claims import (
    CLAIMS,
    FAILS,
    HOLDS,
    NOT_MEASURED,
    PARTLY,
    UNRESOLVED,
    Claim,
    assess,
    assess_all,
    mode_mismatches,
    verdict_table,
)
from rlvae_tutorial.results import load_results, record_result

# Numbers shaped like the book's quick-mode runs.
VALUES: dict[str, dict[str, Any]] = {
    "post_errata": {"sign_error_growth_post": 120.0, "sign_kl_post": 5000.0, "sign_error_growth_correct": 0.6,
                    "sign_kl_correct": 3.0, "post_code_error_over_mean_image": 1.0,
                    "reference_error_over_mean_image": 0.45, "post_code_kl": 0.01},
    "rlvae_policy_gradient": {"gap_best_nats": 0.7, "gap_best_high_nats": 0.9, "gap_seeds": 4,
                              "gap_none_nats": 4.0, "gap_baselined_nats": 1.5, "ref_epochs": 200,
                              "variance_ratio_none_over_loo": 900.0,
                              "variance_ratio_loo_per_sample_over_reparam": 5.0},
    "rlvae_beyond_reparam": {"recognition_rate_before": 0.7, "recognition_rate_bonus": 0.85,
                             "recognition_rate_control": 0.72, "test_elbo_bonus": -24.0,
                             "test_elbo_control": -23.5, "discrete_test_elbo_loo": -25.0,
                             "discrete_test_elbo_none": -28.0, "discrete_test_elbo_straight_through": -25.5,
                             "critic_r2": 0.95, "critic_error_ratio": 40.0, "critic_cosine": 0.6},
    "app_images": {"target_rate_prior": 0.1, "target_rate_bar": 0.6, "target_rate_moderate_min": 0.8,
                   "pairwise_prior": 3.0, "pairwise_real": 3.5, "pairwise_lam0": 1.0, "pairwise_lam1": 1.7,
                   "distinct_lam0": 20, "distinct_lam1": 200, "reward_model_rate_lam0": 1.0,
                   "target_rate_lam0": 0.98, "pairwise_yardstick": 1.75, "kl_to_optimum_lam1": 0.25},
    "app_text": {"target_pretrained": 0.25, "target_beta_large": 0.7, "beta_large": 0.3, "kl_beta_large": 1.2,
                 "distinct_beta_small": 0.05, "distinct_beta_large": 0.5, "novel_beta_small": 0.02,
                 "beta_small": 0.01},
    "rl_latents": {"data_efficiency": {
        "n_seeds": 8, "budget": 15000, "pretrain_env_steps": 4000, "level": 0.95,
        "solved": {"pixels": 0.75, "latents": 1.0, "state": 1.0},
        "restricted_mean": {"pixels": 13000.0, "latents": 9000.0, "state": 4000.0},
        "difference": {"estimate": 4000.0, "low": 1000.0, "high": 7000.0},
        "difference_with_frames": {"estimate": 0.0, "low": -3000.0, "high": 3000.0}}},
}


def results(values: dict[str, dict[str, Any]] | None = None, quick: bool = True) -> dict:
    """``load_results``' shape: {chapter: {key: record}}."""
    return {ch: {k: {"value": v, "quick": quick, "seed": 0} for k, v in keys.items()}
            for ch, keys in (VALUES if values is None else values).items()}


def changed(chapter: str, **new: Any) -> dict:
    values = {ch: dict(keys) for ch, keys in VALUES.items()}
    values[chapter].update(new)
    return results(values)


def verdict(name: str, res: dict) -> Any:
    return assess(next(c for c in CLAIMS if c.name == name), res)


def test_every_claim_needs_results_and_names_its_chapters() -> None:
    names = [c.name for c in CLAIMS]
    assert len(set(names)) == len(names)
    for claim in CLAIMS:
        assert claim.needs and claim.chapters
        for chapter, key in claim.needs + claim.optional:
            assert key in VALUES[chapter], f"the synthetic results lack {chapter}/{key}"


def test_all_results_present_gives_a_measured_verdict_for_every_claim() -> None:
    verdicts = assess_all(results())
    assert [v.claim for v in verdicts] == list(CLAIMS)
    assert all(v.measured and not v.missing for v in verdicts)
    status = {v.claim.name: v.status for v in verdicts}
    assert status == {"reward_sign": FAILS, "post_code": FAILS, "encoder_policy_gradient": HOLDS,
                      "reward_feedback": HOLDS, "q_learning": FAILS, "better_data": PARTLY,
                      "mode_collapse": HOLDS, "reward_design": HOLDS, "data_efficiency": PARTLY}


def test_verdict_text_quotes_the_numbers() -> None:
    v = verdict("encoder_policy_gradient", results())
    assert "0.70 nats behind" in v.text and "1.5 nats behind and plain REINFORCE 4.0" in v.text
    assert "900-fold" in v.text
    assert "120 times" in verdict("reward_sign", results()).text


def test_missing_chapter_gives_not_measured_and_names_it() -> None:
    partial = results({ch: keys for ch, keys in VALUES.items() if ch != "app_text"})
    by_name = {v.claim.name: v for v in assess_all(partial)}
    for name in ("better_data", "mode_collapse", "reward_design"):
        v = by_name[name]
        assert v.status == NOT_MEASURED and v.missing == ("app_text",)
        assert v.text == "not measured in this build (run app_text first)"
    assert by_name["reward_sign"].measured and by_name["q_learning"].measured


def test_no_results_at_all() -> None:
    verdicts = assess_all({})
    assert all(v.status == NOT_MEASURED for v in verdicts)
    assert verdicts[-1].text == "not measured in this build (run rl_latents first)"
    assert "run post_errata, app_images, app_text first" in verdict("reward_design", {}).text


def test_one_missing_key_is_enough_for_not_measured() -> None:
    res = results()
    del res["rlvae_policy_gradient"]["gap_none_nats"]
    v = verdict("encoder_policy_gradient", res)
    assert v.status == NOT_MEASURED and v.missing == ("rlvae_policy_gradient",)


@pytest.mark.parametrize(("gap_best", "gap_high", "gap_none", "gap_baselined", "expected"),
                         [(0.7, 0.9, 4.0, 1.5, HOLDS), (0.7, 1.2, 4.0, 1.5, PARTLY), (2.0, 2.5, 4.0, 2.5, PARTLY),
                          (2.0, 2.5, 2.3, 2.0, FAILS),
                          # the partial rule compares runs of the same kind: one shared learning rate,
                          # not plain REINFORCE's one run with the tuned multi-seed mean (quick seed 19)
                          (2.7, 3.1, 3.1, 2.0, PARTLY), (0.5, 1.1, 2.0, 1.6, FAILS)])
def test_policy_gradient_thresholds(gap_best: float, gap_high: float, gap_none: float, gap_baselined: float,
                                    expected: str) -> None:
    res = changed("rlvae_policy_gradient", gap_best_nats=gap_best, gap_best_high_nats=gap_high,
                  gap_none_nats=gap_none, gap_baselined_nats=gap_baselined)
    assert verdict("encoder_policy_gradient", res).status == expected


def test_reward_sign_that_worked_would_hold() -> None:
    assert verdict("reward_sign", changed("post_errata", sign_error_growth_post=0.5)).status == HOLDS


def test_q_learning_unbiased_critic_would_hold() -> None:
    assert verdict("q_learning", changed("rlvae_beyond_reparam", critic_error_ratio=1.2)).status == HOLDS


def test_mode_collapse_partial_and_absent() -> None:
    assert verdict("mode_collapse", changed("app_text", distinct_beta_small=0.45)).status == PARTLY
    none = changed("app_images", pairwise_lam0=2.7, distinct_lam0=190)
    none["app_text"]["distinct_beta_small"]["value"] = 0.45
    assert verdict("mode_collapse", none).status == FAILS


def test_better_data_fails_when_no_rate_rises() -> None:
    res = changed("app_images", target_rate_moderate_min=0.3)
    res["app_text"]["target_beta_large"]["value"] = 0.3
    assert verdict("better_data", res).status == FAILS


def test_reward_design_reports_hacking() -> None:
    v = verdict("reward_design", changed("app_images", reward_model_rate_lam0=1.0, target_rate_lam0=0.5))
    assert v.status == HOLDS and "disagreed" in v.text
    assert "no reward hacking" in verdict("reward_design", results()).text


def test_reward_feedback_reads_generated_data_and_an_independent_judge() -> None:
    v = verdict("reward_feedback", results())
    assert v.claim.chapters == ("app_images",)  # not the encoder fine-tuning of rlvae_beyond_reparam
    assert v.status == HOLDS and "independent judge" in v.text and "kept 0.97 of" in v.text
    assert verdict("reward_feedback", changed("app_images", pairwise_lam1=1.2)).status == PARTLY


def test_the_text_generators_kl_coefficient_is_called_lambda() -> None:
    for name in ("better_data", "mode_collapse"):
        text = verdict(name, results()).text
        assert "λ = 0.3" in text and "β" not in text, text


def _latents(low: float, high: float, low_frames: float = -3000.0, high_frames: float = 3000.0) -> dict:
    d = dict(VALUES["rl_latents"]["data_efficiency"])
    d["difference"] = {"estimate": (low + high) / 2, "low": low, "high": high}
    d["difference_with_frames"] = {"estimate": (low_frames + high_frames) / 2, "low": low_frames,
                                   "high": high_frames}
    return {"data_efficiency": d}


@pytest.mark.parametrize(("new", "status", "phrase"), [
    ({}, PARTLY, "not once the pretraining frames are counted"),
    (_latents(1000.0, 7000.0, 500.0, 3000.0), HOLDS, "even with the pretraining frames"),
    (_latents(-7000.0, -1000.0), FAILS, "pixels beat latents"),
    (_latents(-1000.0, 7000.0), UNRESOLVED, "could not tell"),
    (_latents(0.0, 7000.0), UNRESOLVED, "could not tell"),  # an interval that touches zero decides nothing
])
def test_data_efficiency(new: dict, status: str, phrase: str) -> None:
    v = verdict("data_efficiency", changed("rl_latents", **new))
    assert v.status == status and phrase in v.text, (v.status, v.text)
    assert "true state 100%" in v.text and "true state 4,000" in v.text


def test_data_efficiency_quotes_the_interval_and_the_censoring() -> None:
    text = verdict("data_efficiency", results()).text
    assert "+4,000 steps (95% interval +1,000 to +7,000)" in text
    assert "raw pixels 75%" in text and "counts as the budget" in text and "4,000 pretraining frames" in text


def test_a_rule_with_an_unknown_status_is_refused() -> None:
    bad = Claim("bad", "Bad", "x", (("app_text", "beta_large"),), lambda v: ("maybe", ""))
    with pytest.raises(ValueError, match="returned status 'maybe'"):
        assess(bad, results())


def test_verdict_table() -> None:
    verdicts = assess_all(results({"post_errata": VALUES["post_errata"]}))
    table = verdict_table(verdicts).splitlines()
    assert table[0] == "| Claim | What the post says | Verdict |"
    assert len(table) == 2 + len(CLAIMS)
    assert table[2].startswith("| The reward as written |") and "**does not hold**" in table[2]
    assert "**not measured** in this build (run rl_latents first) |" in table[-1]
    pipe = Claim("p", "a|b", "c", (("app_text", "beta_large"),), lambda v: (HOLDS, "x"))
    assert "a\\|b" in verdict_table([assess(pipe, results())])


def test_mode_mismatches() -> None:
    res = results()
    res["app_text"]["beta_large"]["quick"] = False
    assert mode_mismatches(res, quick=True) == ["app_text/beta_large"]
    assert len(mode_mismatches(res, quick=False)) == sum(len(k) for k in VALUES.values()) - 1


def test_round_trip_through_recorded_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLVAE_RESULTS_DIR", raising=False)
    for chapter, keys in VALUES.items():
        for key, value in keys.items():
            record_result(chapter, key, value, quick=True, seed=0, directory=tmp_path)
    loaded = load_results(quick=True, directory=tmp_path)
    assert [v.status for v in assess_all(loaded)] == [v.status for v in assess_all(results())]
    assert not mode_mismatches(loaded, quick=True)
    assert all(v.status == NOT_MEASURED for v in assess_all(load_results(quick=False, directory=tmp_path)))


def test_the_claims_chapter_comes_after_every_chapter_it_reads() -> None:
    """The book build runs chapters in toc order: a chapter recorded after post_claims is unseen."""
    from tests.notebook_utils import toc_files

    toc = toc_files()
    assert "book/post_claims" in toc
    for chapter in {ch for claim in CLAIMS for ch in claim.chapters}:
        if f"book/{chapter}" in toc:
            assert toc.index(f"book/{chapter}") < toc.index("book/post_claims"), (
                f"{chapter} records results that post_claims reads: list it before post_claims in _toc.yml"
            )


# --- every rule exactly at its thresholds, from both sides ------------------------------------
# Each case sets the compared quantity exactly at the threshold (the status the rule's strict or
# non-strict comparison gives there) and one float step (math.nextafter) to either side, with the
# other conditions set so that this comparison decides the status.

def _up(x: float) -> float:
    return math.nextafter(x, math.inf)


def _down(x: float) -> float:
    return math.nextafter(x, -math.inf)


NO_COLLAPSE_TEXT = {"distinct_beta_small": 0.5, "distinct_beta_large": 0.5}  # tx = 1
NO_COLLAPSE_IMAGES = {"pairwise_lam0": 1.0, "pairwise_lam1": 1.0, "distinct_lam0": 10, "distinct_lam1": 10,
                      "pairwise_yardstick": 1.0}

THRESHOLDS: list[tuple[str, dict[str, dict[str, Any]], str]] = [
    # reward_sign: FAILS if growth > 1 and the corrected run's growth < 1; HOLDS if growth < 1
    ("reward_sign", {"post_errata": {"sign_error_growth_post": _down(1.0)}}, HOLDS),
    ("reward_sign", {"post_errata": {"sign_error_growth_post": 1.0}}, PARTLY),
    ("reward_sign", {"post_errata": {"sign_error_growth_post": _up(1.0)}}, FAILS),
    ("reward_sign", {"post_errata": {"sign_error_growth_correct": _down(1.0)}}, FAILS),
    ("reward_sign", {"post_errata": {"sign_error_growth_correct": 1.0}}, PARTLY),
    # post_code: FAILS above 0.9; PARTLY above the reference + 0.1
    ("post_code", {"post_errata": {"post_code_error_over_mean_image": 0.9}}, PARTLY),
    ("post_code", {"post_errata": {"post_code_error_over_mean_image": _up(0.9)}}, FAILS),
    ("post_code", {"post_errata": {"post_code_error_over_mean_image": 0.5 + 0.1,
                                   "reference_error_over_mean_image": 0.5}}, HOLDS),
    ("post_code", {"post_errata": {"post_code_error_over_mean_image": _up(0.5 + 0.1),
                                   "reference_error_over_mean_image": 0.5}}, PARTLY),
    # encoder_policy_gradient: HOLDS when the gap's interval over seeds ends <= 1 nat; PARTLY if the
    # best baselined run gains >= 0.5 nats on plain REINFORCE at the same learning rate
    ("encoder_policy_gradient", {"rlvae_policy_gradient": {"gap_best_high_nats": 1.0}}, HOLDS),
    ("encoder_policy_gradient", {"rlvae_policy_gradient": {"gap_best_high_nats": _up(1.0)}}, PARTLY),
    ("encoder_policy_gradient", {"rlvae_policy_gradient": {"gap_baselined_nats": 2.0, "gap_best_high_nats": 2.5,
                                                           "gap_none_nats": 2.5}}, PARTLY),
    ("encoder_policy_gradient", {"rlvae_policy_gradient": {"gap_baselined_nats": 2.0, "gap_best_high_nats": 2.5,
                                                           "gap_none_nats": _down(2.5)}}, FAILS),
    # reward_feedback: FAILS below the bar; HOLDS if the judge agrees (|own - judge| <= 0.1) and the
    # lambda = 1 policy keeps >= 0.8 of the yardstick's pairwise distance; PARTLY otherwise
    ("reward_feedback", {"app_images": {"target_rate_moderate_min": 0.6, "target_rate_bar": 0.6}}, HOLDS),
    ("reward_feedback", {"app_images": {"target_rate_moderate_min": _down(0.6), "target_rate_bar": 0.6}}, FAILS),
    ("reward_feedback", {"app_images": {"pairwise_lam1": 0.8, "pairwise_yardstick": 1.0}}, HOLDS),
    ("reward_feedback", {"app_images": {"pairwise_lam1": _down(0.8), "pairwise_yardstick": 1.0}}, PARTLY),
    ("reward_feedback", {"app_images": {"reward_model_rate_lam0": 1.0, "target_rate_lam0": 0.875}}, PARTLY),
    ("reward_feedback", {"app_images": {"reward_model_rate_lam0": 0.5 + 0.1, "target_rate_lam0": 0.5}}, HOLDS),
    ("reward_feedback", {"app_images": {"reward_model_rate_lam0": _up(0.5 + 0.1), "target_rate_lam0": 0.5}},
     PARTLY),
    # q_learning: FAILS above an error ratio of 3
    ("q_learning", {"rlvae_beyond_reparam": {"critic_error_ratio": 3.0}}, HOLDS),
    ("q_learning", {"rlvae_beyond_reparam": {"critic_error_ratio": _up(3.0)}}, FAILS),
    # better_data: images reach the bar (>=), or text gains >= 0.25; text made to fail first
    ("better_data", {"app_images": {"target_rate_moderate_min": 0.6, "target_rate_bar": 0.6},
                     "app_text": {"target_beta_large": 0.3}}, PARTLY),
    ("better_data", {"app_images": {"target_rate_moderate_min": _down(0.6), "target_rate_bar": 0.6},
                     "app_text": {"target_beta_large": 0.3}}, FAILS),
    ("better_data", {"app_images": {"target_rate_moderate_min": 0.3},
                     "app_text": {"target_pretrained": 0.25, "target_beta_large": 0.25 + 0.25}}, PARTLY),
    ("better_data", {"app_images": {"target_rate_moderate_min": 0.3},
                     "app_text": {"target_pretrained": 0.25, "target_beta_large": _down(0.25 + 0.25)}}, FAILS),
    # mode_collapse: images collapse if pairwise ratio < 0.7 or distinct ratio < 0.5; text if < 0.5
    ("mode_collapse", {"app_images": {**NO_COLLAPSE_IMAGES, "pairwise_lam0": 0.7}}, PARTLY),
    ("mode_collapse", {"app_images": {**NO_COLLAPSE_IMAGES, "pairwise_lam0": _down(0.7)}}, HOLDS),
    ("mode_collapse", {"app_images": {**NO_COLLAPSE_IMAGES, "distinct_lam0": 5.0}}, PARTLY),
    ("mode_collapse", {"app_images": {**NO_COLLAPSE_IMAGES, "distinct_lam0": _down(5.0)}}, HOLDS),
    ("mode_collapse", {"app_images": {**NO_COLLAPSE_IMAGES, "distinct_lam1": 0, "distinct_lam0": 0.5}}, PARTLY),
    ("mode_collapse", {"app_images": NO_COLLAPSE_IMAGES,
                       "app_text": {"distinct_beta_large": 1.0, "distinct_beta_small": 0.5}}, FAILS),
    ("mode_collapse", {"app_images": NO_COLLAPSE_IMAGES,
                       "app_text": {"distinct_beta_large": 1.0, "distinct_beta_small": _down(0.5)}}, PARTLY),
    # reward_design: HOLDS with >= 2 of [growth > 1, diversity collapsed, |own - judge| > 0.1]
    ("reward_design", {"app_images": NO_COLLAPSE_IMAGES, "app_text": NO_COLLAPSE_TEXT,
                       "post_errata": {"sign_error_growth_post": 1.0}}, FAILS),
    ("reward_design", {"app_images": NO_COLLAPSE_IMAGES, "app_text": NO_COLLAPSE_TEXT,
                       "post_errata": {"sign_error_growth_post": _up(1.0)}}, PARTLY),
    ("reward_design", {"app_images": {**NO_COLLAPSE_IMAGES, "reward_model_rate_lam0": 0.1, "target_rate_lam0": 0.0},
                       "app_text": NO_COLLAPSE_TEXT}, PARTLY),
    ("reward_design", {"app_images": {**NO_COLLAPSE_IMAGES, "reward_model_rate_lam0": _up(0.1),
                                      "target_rate_lam0": 0.0}, "app_text": NO_COLLAPSE_TEXT}, HOLDS),
    ("reward_design", {"app_images": {**NO_COLLAPSE_IMAGES, "pairwise_lam0": 0.7}, "app_text": NO_COLLAPSE_TEXT},
     PARTLY),
    ("reward_design", {"app_images": {**NO_COLLAPSE_IMAGES, "pairwise_lam0": _down(0.7)},
                       "app_text": NO_COLLAPSE_TEXT}, HOLDS),
    ("reward_design", {"app_images": NO_COLLAPSE_IMAGES,
                       "app_text": {"distinct_beta_large": 1.0, "distinct_beta_small": 0.5}}, PARTLY),
    ("reward_design", {"app_images": NO_COLLAPSE_IMAGES,
                       "app_text": {"distinct_beta_large": 1.0, "distinct_beta_small": _down(0.5)}}, HOLDS),
    # data_efficiency: the interval of pixels minus latents decides; one that touches zero decides nothing
    ("data_efficiency", {"rl_latents": _latents(0.0, 7000.0)}, UNRESOLVED),
    ("data_efficiency", {"rl_latents": _latents(_up(0.0), 7000.0, 0.0, 3000.0)}, PARTLY),
    ("data_efficiency", {"rl_latents": _latents(_up(0.0), 7000.0, _up(0.0), 3000.0)}, HOLDS),
    ("data_efficiency", {"rl_latents": _latents(-7000.0, 0.0)}, UNRESOLVED),
    ("data_efficiency", {"rl_latents": _latents(-7000.0, _down(0.0))}, FAILS),
]


@pytest.mark.parametrize(("name", "new", "status"), THRESHOLDS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(THRESHOLDS)])
def test_rules_exactly_at_their_thresholds(name: str, new: dict[str, dict[str, Any]], status: str) -> None:
    values = {ch: dict(keys) for ch, keys in VALUES.items()}
    for chapter, keys in new.items():
        values[chapter].update(keys)
    assert verdict(name, results(values)).status == status
