"""The original post's claims, and the rules that turn the chapters' stored results into verdicts.

Each :class:`Claim` paraphrases one claim of the post, names the results it needs as
``(chapter, key)`` pairs (what the chapters store with :func:`rlvae_tutorial.results.record_result`)
and a *rule*: a pure function from those values to a status and a sentence quoting the numbers.
:func:`assess` applies a rule to the dict :func:`rlvae_tutorial.results.load_results` returns;
where a needed result is missing the verdict is :data:`NOT_MEASURED` and names the chapters to
run, so the closing chapter runs anywhere and never types a verdict by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HOLDS = "holds"
PARTLY = "holds in part"
FAILS = "does not hold"
UNRESOLVED = "could not tell"  # measured, but the interval over seeds does not decide it
NOT_MEASURED = "not measured"
STATUSES = (HOLDS, PARTLY, FAILS, UNRESOLVED, NOT_MEASURED)
RULE_STATUSES = STATUSES[:-1]  # what a rule may return

Results = Mapping[str, Mapping[str, Mapping[str, Any]]]  # {chapter: {key: record}}, as load_results
Values = Mapping[tuple[str, str], Any]  # {(chapter, key): value}
Rule = Callable[[Values], tuple[str, str]]  # values -> (status, sentence)


@dataclass(frozen=True)
class Claim:
    """One claim of the post: ``post_says`` paraphrases it, ``needs`` lists the results the
    ``rule`` reads, ``(chapter, key)``; ``optional`` ones the rule may use when present."""

    name: str
    title: str
    post_says: str
    needs: tuple[tuple[str, str], ...]
    rule: Rule = field(repr=False)
    optional: tuple[tuple[str, str], ...] = ()

    @property
    def chapters(self) -> tuple[str, ...]:
        """The chapters whose results the claim needs, in order of first mention."""
        return tuple(dict.fromkeys(chapter for chapter, _ in self.needs))


@dataclass(frozen=True)
class Verdict:
    """A claim's status (one of :data:`STATUSES`), a sentence with the measured numbers, the
    chapters whose results were missing, and the values the rule read."""

    claim: Claim
    status: str
    text: str
    missing: tuple[str, ...] = ()
    values: Mapping[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.status != NOT_MEASURED


def not_measured_text(chapters: Iterable[str]) -> str:
    """The verdict text of a claim whose results are missing."""
    return f"{NOT_MEASURED} in this build (run {', '.join(chapters)} first)"


def assess(claim: Claim, results: Results) -> Verdict:
    """Apply ``claim``'s rule to ``results`` (``{chapter: {key: {"value": ...}}}``)."""
    values: dict[tuple[str, str], Any] = {}
    missing: list[str] = []
    for chapter, key in claim.needs:
        record = results.get(chapter, {}).get(key)
        if record is None:
            missing.append(chapter)
        else:
            values[(chapter, key)] = record["value"]
    if missing:
        chapters = tuple(dict.fromkeys(missing))
        return Verdict(claim, NOT_MEASURED, not_measured_text(chapters), chapters, values)
    for chapter, key in claim.optional:
        if key in results.get(chapter, {}):
            values[(chapter, key)] = results[chapter][key]["value"]
    status, text = claim.rule(values)
    if status not in RULE_STATUSES:
        raise ValueError(f"the rule of claim {claim.name!r} returned status {status!r}; "
                         f"return one of {RULE_STATUSES}")
    return Verdict(claim, status, text, (), values)


def assess_all(results: Results, claims: Iterable[Claim] | None = None) -> list[Verdict]:
    """One verdict per claim (default: every claim of :data:`CLAIMS`), in order."""
    return [assess(c, results) for c in (CLAIMS if claims is None else claims)]


def mode_mismatches(results: Results, quick: bool) -> list[str]:
    """``chapter/key`` of every record measured in the other mode than ``quick``."""
    return [f"{ch}/{key}" for ch, records in results.items() for key, rec in records.items()
            if rec.get("quick") is not None and bool(rec["quick"]) != quick]


def verdict_table(verdicts: Iterable[Verdict]) -> str:
    """A Markdown table: claim, what the post says, verdict (status in bold and the numbers)."""
    rows = ["| Claim | What the post says | Verdict |", "|---|---|---|"]
    for v in verdicts:
        verdict = (f"**{v.status}**: {v.text}" if v.measured  # the text starts "not measured in ..."
                   else f"**{NOT_MEASURED}**{v.text.removeprefix(NOT_MEASURED)}")
        cells = [v.claim.title, v.claim.post_says, verdict]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


# --- the rules: each reads numbers and returns (status, sentence) -----------------------------


def _steps(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "never (within the budget)"
    return f"{float(value):,.0f}"


def _reward_sign(v: Values) -> tuple[str, str]:
    grow, kl = v[("post_errata", "sign_error_growth_post")], v[("post_errata", "sign_kl_post")]
    ok, kl_ok = v[("post_errata", "sign_error_growth_correct")], v[("post_errata", "sign_kl_correct")]
    status = FAILS if grow > 1.0 and ok < 1.0 else (HOLDS if grow < 1.0 else PARTLY)
    return status, (f"climbing the post's R made the squared reconstruction error {grow:,.0f} times "
                    f"that of the untrained model and the KL {kl:,.0f} nats; climbing its negative "
                    f"(the book's reward) brought the error to {ok:.2f} times, with a KL of {kl_ok:.2f} nats.")


def _post_code(v: Values) -> tuple[str, str]:
    post = v[("post_errata", "post_code_error_over_mean_image")]
    ref = v[("post_errata", "reference_error_over_mean_image")]
    kl = v[("post_errata", "post_code_kl")]
    status = FAILS if post > 0.9 else (PARTLY if post > ref + 0.1 else HOLDS)
    return status, (f"its forward pass decodes noise: trained, its reconstructions had {post:.2f} times "
                    f"the squared error of the mean image (the corrected VAE: {ref:.2f}) and a KL of "
                    f"{kl:.3f} nats; no gradient reaches the encoder and nothing in it is RL.")


def _policy_gradient(v: Values) -> tuple[str, str]:
    g = {k: v[("rlvae_policy_gradient", k)] for k in
         ("gap_best_nats", "gap_best_high_nats", "gap_seeds", "gap_none_nats", "gap_baselined_nats",
          "ref_epochs", "variance_ratio_none_over_loo", "variance_ratio_loo_per_sample_over_reparam")}
    if g["gap_best_high_nats"] <= 1.0:  # the whole 95% interval over seeds within a nat
        status = HOLDS
    elif g["gap_none_nats"] - g["gap_baselined_nats"] >= 0.5:  # same runs, shared learning rate
        status = PARTLY
    else:
        status = FAILS
    return status, (f"with the reward's sign fixed and a baseline: at the compute of {g['ref_epochs']:.0f} "
                    f"reparameterised epochs, each estimator's learning rate picked from the same grid, the "
                    f"leave-one-out score-function VAE ended {g['gap_best_nats']:.2f} nats behind the "
                    f"reparameterised one in test ELBO on average over {g['gap_seeds']:.0f} seeds (95% "
                    f"interval up to {g['gap_best_high_nats']:.2f}); in the runs at one shared learning rate the "
                    f"best baselined VAE was {g['gap_baselined_nats']:.1f} nats behind and plain REINFORCE "
                    f"{g['gap_none_nats']:.1f}. Leave-one-out cut the gradient's "
                    f"variance {g['variance_ratio_none_over_loo']:,.0f}-fold, yet per sample kept "
                    f"{g['variance_ratio_loo_per_sample_over_reparam']:.1f} times the reparameterised variance.")


def _reward_feedback(v: Values) -> tuple[str, str]:
    """Read from app_images, where the reward changes what the generator samples (a latent policy
    pi(z) in front of the frozen decoder) and an independent judge, which paid no reward, counts the
    target.  Holds if the judged target rate clears the chapter's bar at moderate lambda, the reward
    model and the judge agree (no hacking) and, at lambda = 1 (exact conditioning), the guided
    generator keeps at least 0.8 of the variety of the prior's own samples of the target."""
    def im(k: str) -> float:
        return v[("app_images", k)]

    moved = im("target_rate_moderate_min") >= im("target_rate_bar")
    agree = abs(im("reward_model_rate_lam0") - im("target_rate_lam0")) <= 0.1
    kept = im("pairwise_lam1") / im("pairwise_yardstick")
    status = FAILS if not moved else (HOLDS if agree and kept >= 0.8 else PARTLY)
    return status, (f"a classifier's reward on the generated images, fed back to REINFORCE through a latent "
                    f"policy in front of the frozen decoder, changed what the generator samples: an "
                    f"independent judge (another model family, trained on other images, paying no reward) "
                    f"saw the target digit in {im('target_rate_prior'):.2f} of the prior's samples and in "
                    f"at least {im('target_rate_moderate_min'):.2f} of the guided ones for 0 < λ ≤ 0.3 "
                    f"(bar {im('target_rate_bar'):.2f}); at λ = 0 the reward model counted "
                    f"{im('reward_model_rate_lam0'):.2f} and the judge {im('target_rate_lam0'):.2f}. At "
                    f"λ = 1, whose optimum is the prior conditioned on the target, the policy was "
                    f"{im('kl_to_optimum_lam1'):.2f} nats from that optimum and kept {kept:.2f} of the mean "
                    f"pairwise distance of the prior's own samples of the target (by rejection sampling).")


def _q_learning(v: Values) -> tuple[str, str]:
    r2, ratio = v[("rlvae_beyond_reparam", "critic_r2")], v[("rlvae_beyond_reparam", "critic_error_ratio")]
    cos = v[("rlvae_beyond_reparam", "critic_cosine")]
    status = FAILS if ratio > 3.0 else HOLDS
    return status, (f"a learned critic Q(x, z) fitted the reward well (R² {r2:.2f}), but the encoder "
                    f"gradient through it was biased: its squared error was {ratio:,.0f} times what the "
                    f"draws' noise explains (cosine {cos:.2f} to the exact gradient). With one-step "
                    f"episodes there is nothing to bootstrap. That is the critic followed, DDPG-style; "
                    f"used as a control variate (LAX, RELAX) the same critic keeps the gradient "
                    f"unbiased, as the chapter measures.")


def _better_data(v: Values) -> tuple[str, str]:
    def im(k: str) -> float:
        return v[("app_images", k)]

    def tx(k: str) -> float:
        return v[("app_text", k)]

    images = im("target_rate_moderate_min") >= im("target_rate_bar")
    text = tx("target_beta_large") >= tx("target_pretrained") + 0.25
    status = PARTLY if images or text else FAILS
    return status, (f"better only by what the reward counts: the share of the target digit (by an "
                    f"independent judge) went from {im('target_rate_prior'):.2f} under the prior to at "
                    f"least {im('target_rate_moderate_min'):.2f} with a KL coefficient λ ≤ 0.3; valid deep "
                    f"strings went from {tx('target_pretrained'):.2f} to {tx('target_beta_large'):.2f} "
                    f"(λ = {tx('beta_large'):g}, {tx('kl_beta_large'):.2f} nats from the reference). The "
                    f"decoder is frozen, so no image got sharper, and even the prior's samples of the target "
                    f"digit are less varied than real ones (mean pairwise distance "
                    f"{im('pairwise_yardstick'):.2f} against {im('pairwise_real'):.2f}).")


def _diversity_kept(v: Values) -> tuple[float, float, float]:
    """Without vs with the KL penalty, as ratios: the images' mean pairwise distance and distinct
    nearest training images, and the text's share of distinct strings."""
    pw = v[("app_images", "pairwise_lam0")] / v[("app_images", "pairwise_lam1")]
    nn = v[("app_images", "distinct_lam0")] / max(v[("app_images", "distinct_lam1")], 1)
    tx = v[("app_text", "distinct_beta_small")] / max(v[("app_text", "distinct_beta_large")], 1e-12)
    return pw, nn, tx


def _mode_collapse(v: Values) -> tuple[str, str]:
    pw, nn, tx = _diversity_kept(v)
    collapsed = [pw < 0.7 or nn < 0.5, tx < 0.5]
    status = HOLDS if all(collapsed) else (PARTLY if any(collapsed) else FAILS)
    return status, (f"without the KL penalty the image policy's mean pairwise distance fell to {pw:.2f} "
                    f"and its distinct nearest training images to {nn:.2f} of what λ = 1 keeps; the text "
                    f"generator at λ = {v[('app_text', 'beta_small')]:g} kept {tx:.2f} of the distinct "
                    f"strings of λ = {v[('app_text', 'beta_large')]:g}, with "
                    f"{v[('app_text', 'novel_beta_small')]:.2f} of its strings novel. The KL coefficient "
                    f"sets how much diversity is spent.")


def _reward_design(v: Values) -> tuple[str, str]:
    grow = v[("post_errata", "sign_error_growth_post")]
    pw, _, tx = _diversity_kept(v)
    own, judge = v[("app_images", "reward_model_rate_lam0")], v[("app_images", "target_rate_lam0")]
    hard = [grow > 1.0, pw < 0.7 or tx < 0.5, abs(own - judge) > 0.1]
    status = HOLDS if sum(hard) >= 2 else (PARTLY if any(hard) else FAILS)
    hacking = ("the reward model and an independent judge disagreed" if hard[2]
               else "no reward hacking showed: the reward model and an independent judge agreed")
    return status, (f"the post's own reward had the wrong sign (climbing it multiplied the error "
                    f"{grow:,.0f}-fold); rewards that count only the target, without a KL term, "
                    f"collapsed diversity (pairwise distance ×{pw:.2f}, distinct strings ×{tx:.2f}); "
                    f"{hacking} on the target rate at λ = 0 ({own:.2f} against {judge:.2f}).")


def _interval(d: Mapping[str, float]) -> str:
    return f"{d['estimate']:+,.0f} steps (95% interval {d['low']:+,.0f} to {d['high']:+,.0f})"


def _data_efficiency(v: Values) -> tuple[str, str]:
    """Latents beat pixels only when the bootstrap interval of the difference of restricted mean
    steps to threshold (pixels minus latents, over seeds) lies above zero; pixels win when it lies
    below; otherwise the experiment could not tell.  Runs that never reach the threshold are
    censored (restricted mean up to the budget, with the solved fraction), not averaged in."""
    d = v[("rl_latents", "data_efficiency")]
    solved, rmean = d["solved"], d["restricted_mean"]
    diff, with_frames = d["difference"], d["difference_with_frames"]
    text = (f"{int(d['n_seeds'])} seeds per agent; reached the threshold within {d['budget']:,.0f} steps: "
            f"VAE latents {solved['latents']:.0%}, raw pixels {solved['pixels']:.0%}, true state "
            f"{solved['state']:.0%} of runs; restricted mean steps to threshold (a run that never got "
            f"there counts as the budget, a lower bound): latents {rmean['latents']:,.0f}, pixels "
            f"{rmean['pixels']:,.0f}, true state {rmean['state']:,.0f}. Pixels minus latents: "
            f"{_interval(diff)}; with the VAE's {d['pretrain_env_steps']:,.0f} pretraining frames "
            f"charged to the latents: {_interval(with_frames)}")
    if diff["high"] < 0:
        return FAILS, text + "; pixels beat latents."
    if diff["low"] <= 0:
        return UNRESOLVED, text + ("; the interval contains zero: with these seeds the experiment could not "
                                   "tell whether latents beat pixels.")
    if with_frames["low"] > 0:
        return HOLDS, text + "; latents beat pixels even with the pretraining frames counted."
    return PARTLY, text + "; latents beat pixels, but not once the pretraining frames are counted."


CLAIMS: tuple[Claim, ...] = (
    Claim("reward_sign", "The reward as written",
          "R = L_rec + β·L_kl is the reward the RL algorithm maximises.",
          tuple(("post_errata", k) for k in ("sign_error_growth_post", "sign_kl_post",
                                             "sign_error_growth_correct", "sign_kl_correct")),
          _reward_sign),
    Claim("post_code", "The post's code",
          "Its Keras Encoder/Decoder/RLVAE model implements the method.",
          tuple(("post_errata", k) for k in ("post_code_error_over_mean_image",
                                             "reference_error_over_mean_image", "post_code_kl")),
          _post_code),
    Claim("encoder_policy_gradient", "The encoder as a policy",
          "The encoder π(z|x), trained by policy gradient on the reconstruction-plus-KL reward, learns the VAE.",
          tuple(("rlvae_policy_gradient", k) for k in (
              "gap_best_nats", "gap_best_high_nats", "gap_seeds", "gap_none_nats", "gap_baselined_nats",
              "ref_epochs", "variance_ratio_none_over_loo", "variance_ratio_loo_per_sample_over_reparam")),
          _policy_gradient),
    Claim("reward_feedback", "Reward on generated data",
          "A reward computed on the generated data, fed back to an RL algorithm, improves the generator.",
          tuple(("app_images", k) for k in (
              "target_rate_prior", "target_rate_bar", "target_rate_moderate_min", "reward_model_rate_lam0",
              "target_rate_lam0", "pairwise_lam1", "pairwise_yardstick", "kl_to_optimum_lam1")),
          _reward_feedback),
    Claim("q_learning", "Q-learning as the RL algorithm",
          "The RL algorithm can be policy gradient or Q-learning.",
          tuple(("rlvae_beyond_reparam", k) for k in ("critic_r2", "critic_error_ratio", "critic_cosine")),
          _q_learning),
    Claim("better_data", "Better generated data",
          "RL+VAE improves the quality of the data a VAE generates (images, text).",
          tuple(("app_images", k) for k in ("target_rate_prior", "target_rate_bar", "target_rate_moderate_min",
                                            "pairwise_yardstick", "pairwise_real"))
          + tuple(("app_text", k) for k in ("target_pretrained", "target_beta_large", "beta_large",
                                            "kl_beta_large")),
          _better_data),
    Claim("mode_collapse", "Mode collapse",
          "Generated data may collapse onto a few modes: an open challenge.",
          tuple(("app_images", k) for k in ("pairwise_lam0", "pairwise_lam1", "distinct_lam0", "distinct_lam1"))
          + tuple(("app_text", k) for k in ("distinct_beta_small", "distinct_beta_large", "novel_beta_small",
                                            "beta_small", "beta_large")),
          _mode_collapse),
    Claim("reward_design", "Reward design is hard",
          "Designing a good reward function is an open challenge.",
          (("post_errata", "sign_error_growth_post"), ("app_images", "pairwise_lam0"),
           ("app_images", "pairwise_lam1"), ("app_images", "distinct_lam0"), ("app_images", "distinct_lam1"),
           ("app_images", "reward_model_rate_lam0"),
           ("app_images", "target_rate_lam0"), ("app_text", "distinct_beta_small"),
           ("app_text", "distinct_beta_large")),
          _reward_design),
    Claim("data_efficiency", "Data efficiency in RL",
          "RL+VAE makes reinforcement learning more data-efficient.",
          (("rl_latents", "data_efficiency"),),
          _data_efficiency),
)
