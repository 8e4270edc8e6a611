"""Group-sequential critical values for verdicts read at several looks of a growing run.

``evaluation.n_repeats=auto`` adds one repeat of the stratified k-fold split per round and
reads the verdicts after each round. Looking several times at a test of level alpha raises
its false-alarm rate unless every look uses a wider interval. The intervals here are
*repeated confidence intervals* (Jennison & Turnbull 1989, "Interim analyses: the repeated
confidence interval approach", JRSS B 51(3)): at look j the interval is ``mean ± c_j · se_j``
with critical values ``c_1 … c_K`` such that all K intervals cover the true delta at once
with probability 1 − alpha. A verdict read off any look's interval (improves, hurts,
equivalent) is then wrong with probability at most alpha, whenever the run stops.

The critical values follow an alpha-spending function (Lan & DeMets 1983, "Discrete
sequential boundaries for clinical trials", Biometrika 70(3)): O'Brien-Fleming-type
``alpha(τ) = 2 − 2 Φ(z_{1−alpha/2} / √τ)`` or Pocock-type ``alpha(τ) = alpha · ln(1 + (e − 1)
τ)``, the alpha spent by look j being ``alpha(τ_j)``. The spending clock τ_j is the share of
the planned folds run (``n_j / n_K``, "calendar time", Lan & DeMets 1989, "Group sequential
procedures: calendar versus information time", Stat. Med. 8(10)); any clock fixed before the
first fold keeps the level. Information time would spend most of alpha at once: the
corrected variance ``(1/n + n_test/n_train) · s²`` (Nadeau & Bengio 2003) has a floor that
repeats do not shrink, so 5 × 2 folds already hold 77 % of the information of 5 × 10, and
the last look would need 2.28 standard errors instead of 2.02.

The joint law of the looks does follow the information: the standardised deltas Z_j are
jointly normal with ``corr(Z_i, Z_j) = √(t_i / t_j)`` (i ≤ j), ``t_j = (1/n_K + ρ) / (1/n_j +
ρ)`` and ρ = n_test/n_train = 1/(k − 1) for k-fold, known before any fold runs. Each
boundary solves ``P(no earlier crossing, |Z_j| ≥ c_j) = alpha(τ_j) − alpha(τ_{j−1})`` by the
recursive numerical integration of Armitage, McPherson & Rowe (1969) on the B-value scale
(Jennison & Turnbull 2000, *Group Sequential Methods with Applications to Clinical Trials*,
ch. 19). The small-sample t scale uses the same nominal levels (ibid. §3.8):
``c_j = t_{1 − p_j/2}(n_j − 1)`` with ``p_j = 2 (1 − Φ(z_j))``.
"""

from functools import lru_cache

import numpy as np
from scipy import optimize, stats

SPENDING = ("obrien_fleming", "pocock")
# The first look comes once at least this many folds ran: the default protocol's 5 x 2.
FIRST_LOOK_FOLDS = 10
# Grid points per standard deviation of the smallest increment of the integration.
_POINTS_PER_SD = 12
# A look that spends (almost) no alpha: its boundary is this many standard errors.
_NEVER = 12.0


def spent(tau, alpha, spending):
    """Two-sided alpha spent by the share ``tau`` (0 < tau <= 1) of the planned folds."""
    if spending == "obrien_fleming":
        return float(2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / np.sqrt(tau)))
    if spending == "pocock":
        return float(alpha * np.log(1 + (np.e - 1) * tau))
    raise ValueError(f"spending must be one of {', '.join(SPENDING)}, got {spending!r}")


def looks(n_splits, max_repeats):
    """The repeats after which a run with ``n_repeats=auto`` reads its verdicts: the first
    once ``FIRST_LOOK_FOLDS`` folds ran (at most ``max_repeats``), then after every repeat."""
    first = min(max_repeats, -(-FIRST_LOOK_FOLDS // n_splits))
    return tuple(range(first, max_repeats + 1))


def information(n_splits, repeats):
    """Information fractions of looks after ``repeats`` (increasing) of ``n_splits``-fold
    splits, under the corrected variance (1/n + 1/(k − 1)) · s²."""
    rho = 1 / (n_splits - 1)
    factors = np.array([1 / (n_splits * r) + rho for r in repeats])
    return factors[-1] / factors


def z_boundaries(fractions, spend):
    """Two-sided critical values on the normal scale of looks at the increasing
    information ``fractions`` (ending in 1) that spend the cumulative alphas ``spend``.

    The B-value ``B_j = Z_j √t_j`` has independent normal increments of variance
    ``t_j − t_{j−1}``; its density over the region no look crossed is carried from look to
    look on a grid."""
    fractions, spend = np.asarray(fractions, dtype=float), np.asarray(spend, dtype=float)
    increments = np.diff(np.r_[0.0, spend])
    sds = np.sqrt(np.diff(np.r_[0.0, fractions]))
    step = sds.min() / _POINTS_PER_SD
    critical = [float(stats.norm.isf(increments[0] / 2))]
    grid = _grid(critical[0] * sds[0], step)
    mass = stats.norm.pdf(grid, 0, sds[0]) * _weights(grid)
    for j in range(1, len(fractions)):
        root = np.sqrt(fractions[j])
        critical.append(_boundary(grid, mass, sds[j], root, increments[j]))
        new = _grid(critical[-1] * root, step)
        mass = (stats.norm.pdf(new[:, None], grid, sds[j]) @ mass) * _weights(new)
        grid = new
    return critical


def _boundary(grid, mass, sd, root, alpha):
    """The critical value that B-values at ``grid`` (probability ``mass``, none crossed
    yet) cross after an increment of sd ``sd`` with probability ``alpha``."""

    def crossing(c):
        edge = c * root
        outside = stats.norm.cdf((-edge - grid) / sd) + stats.norm.sf((edge - grid) / sd)
        return float(mass @ outside) - alpha

    if crossing(_NEVER) >= 0:
        return _NEVER
    return float(optimize.brentq(crossing, 0.1, _NEVER, xtol=1e-8))


def _grid(edge, step):
    """An even grid over the region no look crossed, (−edge, edge)."""
    return np.linspace(-edge, edge, int(np.ceil(2 * edge / step)) + 1)


def _weights(grid):
    """Trapezoid weights of an even grid."""
    weights = np.full(len(grid), grid[1] - grid[0])
    weights[[0, -1]] /= 2
    return weights


def t_boundary(z, n_folds):
    """The critical value on the t scale (``n_folds − 1`` degrees of freedom) of the same
    nominal two-sided level as ``z`` on the normal scale."""
    return float(stats.t.isf(stats.norm.sf(z), n_folds - 1))


@lru_cache(maxsize=64)
def boundaries(n_splits, max_repeats, alpha=0.05, spending="obrien_fleming"):
    """``{repeats: critical value}`` of every look of a run with ``n_repeats=auto``: how
    many corrected standard errors its intervals reach on each side (t scale)."""
    repeats = looks(n_splits, max_repeats)
    spend = [spent(r / max_repeats, alpha, spending) for r in repeats]
    z = z_boundaries(information(n_splits, repeats), spend)
    return {r: t_boundary(c, n_splits * r) for r, c in zip(repeats, z, strict=True)}
