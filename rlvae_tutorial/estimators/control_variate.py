"""A learned critic as a control variate: the LAX estimator (Grathwohl et al., 2018).

For J(phi) = E_{z ~ q_phi}[f(z)] with a reparameterisable q (z = z(eps, phi)) and any
differentiable c(z), for example a critic Q_psi(x, z) fitted to f,

    grad J = E[ (f(z) - c(z)) grad log q_phi(z) ] + grad_phi E_eps[ c(z(eps, phi)) ],

because the second term is exactly what subtracting c takes out of the first.  So a critic can
enter the gradient in two ways.  *Followed* (DDPG-style), only the second term is kept with c in
place of f: biased whenever c's slope is not f's.  As a *control variate*, both terms are kept:
unbiased for any c, and lower-variance the better c tracks f, because the score-function term only
carries the residual f - c.  MuProp (Gu et al., 2016) takes c to be a first-order Taylor expansion
of f; LAX and RELAX (Grathwohl et al., 2018) learn c by minimising the estimator's variance; Q-Prop
(Gu et al., 2017) uses a first-order Taylor expansion of a learned Q in policy-gradient RL.  The
book's critic (:mod:`rlvae_tutorial.rlvae.critic`) is fitted to f by regression instead, which is
simpler and keeps the estimator unbiased all the same.  f itself is never differentiated: it may
be a black box.
"""

from __future__ import annotations

from torch import Tensor

from rlvae_tutorial.dtypes import as_floats


def control_variate_surrogate(log_prob: Tensor, reward: Tensor, control: Tensor) -> Tensor:
    """Surrogate s = log q(z) * (f(z) - c(z)) + c(z), with f - c detached (LAX, Grathwohl et al. 2018).

    grad s = (f(z) - c(z)) grad log q_phi(z) + grad_phi c(z(eps, phi)): one draw of an unbiased
    estimator of grad E_q[f], for any c.  *Maximise* the mean of s.

    log_prob: ``(...)``, log q_phi(z) of the sampled z with z detached (the score);
    reward: f(z), ``(...)``, detached here (no gradient of f is used);
    control: c(z) at the *reparameterised* z = z(eps, phi) of the same draw, ``(...)``, with its
    graph through z (that path gives the second term).  Returns ``(...)``, one surrogate per draw.
    """
    log_prob, reward, control = as_floats(log_prob, reward, control)
    if not log_prob.shape == reward.shape == control.shape:
        raise ValueError(
            f"log_prob {tuple(log_prob.shape)}, reward {tuple(reward.shape)} and control "
            f"{tuple(control.shape)} must have one shape: one value of each per sampled z"
        )
    return log_prob * (reward - control).detach() + control
