"""The estimators reproduce published numbers on the public datasets they came from.

Every expected value below is quoted from the cited source (at its printed
rounding), never computed by the code under test.
"""

from __future__ import annotations

import pytest

from utfall.core.evaluation.means import difference_in_means
from utfall.core.evaluation.nearest_neighbour import matching
from utfall.core.evaluation.panel import did, twfe
from utfall.core.evaluation.prepost import pre_post
from utfall.core.evaluation.synthetic import synthetic_control
from utfall.core.evaluation.weighting import ipw
from utfall.errors import SpecInvalid

# Hernán & Robins, Causal Inference: What If, program 12.1–12.3 (model for qsmk).
NHEFS_COVARIATES = [
    "sex",
    "race",
    "age",
    "I(age**2)",
    "C(education)",
    "smokeintensity",
    "I(smokeintensity**2)",
    "smokeyrs",
    "I(smokeyrs**2)",
    "C(exercise)",
    "C(active)",
    "wt71",
    "I(wt71**2)",
]


def test_nsw_experimental_benchmark(nsw):
    """Dehejia & Wahba (1999, JASA 94:1053), Table 3, NSW experimental sample.

    Treatment effect on 1978 earnings: $1,794, standard error 633 (two-sample,
    pooled variance), from 185 treated and 260 control men.
    """
    estimate = difference_in_means(nsw, outcome="re78", treatment="treat", se="classical")
    assert round(estimate.estimate) == 1794
    assert round(estimate.std_error) == 633
    assert (estimate.n_treated, estimate.n_control, estimate.n_obs) == (185, 260, 445)


def test_kielmc_incinerator_did(kielmc):
    """Wooldridge, Introductory Econometrics, Example 13.3 (KIELMC, equation 13.7).

    rprice = 82,517.23 + 18,790.29 y81 − 18,824.37 nearinc − 11,863.90 y81·nearinc,
    standard error of the interaction 7,456.65 (usual OLS), n = 321.
    """
    estimate = did(kielmc, outcome="rprice", treatment="nearinc", post="y81", se="classical")
    assert round(estimate.estimate, 1) == -11863.9
    assert round(estimate.std_error, 2) == 7456.65
    assert estimate.n_obs == 321
    means = estimate.extras["cell_means"]
    # The intercept and the y81 coefficient follow from the cell means.
    assert round(means["nearinc=0,y81=0"], 2) == 82517.23
    assert round(means["nearinc=0,y81=1"] - means["nearinc=0,y81=0"], 2) == 18790.29


def test_nhefs_ip_weighted_effect_of_quitting_smoking(nhefs):
    """Hernán & Robins, What If (2020), section 12.2, program 12.2.

    Nonstabilised IP weights from a logistic model for quitting; the weighted mean
    difference in weight gain is 3.4 kg (95 % CI 2.4 to 4.5, robust "sandwich"
    standard error). The weights have mean 2.0 and maximum 16.7; 1,566 smokers with
    a 1982 weight remain.
    """
    estimate = ipw(
        nhefs, outcome="wt82_71", treatment="qsmk", covariates=NHEFS_COVARIATES, se="robust"
    )
    assert round(estimate.estimate, 1) == 3.4
    assert round(estimate.ci_low, 1) == 2.4
    assert round(estimate.ci_high, 1) == 4.5
    assert estimate.n_obs == 1566
    assert round(estimate.extras["weight_mean"], 1) == 2.0
    assert round(estimate.extras["weight_max"], 1) == 16.7


def test_nhefs_mestimation_is_tighter_than_weights_as_known(nhefs):
    """For the normalised ATE estimator, ignoring that the score is estimated is
    conservative (Lunceford & Davidian 2004); What If says the robust interval is
    conservative. The point estimate does not depend on the standard error."""
    robust = ipw(
        nhefs, outcome="wt82_71", treatment="qsmk", covariates=NHEFS_COVARIATES, se="robust"
    )
    stacked = ipw(nhefs, outcome="wt82_71", treatment="qsmk", covariates=NHEFS_COVARIATES)
    assert stacked.estimate == pytest.approx(robust.estimate, rel=1e-12)
    assert 0.8 * robust.std_error < stacked.std_error < robust.std_error


def test_jtrain_fixed_effects_example_14_1(jtrain):
    """Wooldridge, Introductory Econometrics, Example 14.1 (JTRAIN, fixed effects).

    log(scrap) on year dummies, grant and grant_{-1} with firm effects, 54 firms
    × 3 years: grant −.252 (.151); grant_{-1} enters as a covariate here.
    Grants started in 1988 for some firms and 1989 for others, so twfe first
    refuses the staggered design.
    """
    options = dict(outcome="lscrap", treatment="grant", unit="fcode", time="year")
    with pytest.raises(SpecInvalid, match="staggered"):
        twfe(jtrain, covariates=["grant_1"], **options)
    estimate = twfe(jtrain, covariates=["grant_1"], allow_staggered=True, se="classical", **options)
    assert round(estimate.estimate, 3) == -0.252
    assert round(estimate.std_error, 3) == 0.151
    assert estimate.n_obs == 162
    assert estimate.extras["n_units"] == 54


def test_jtrain_paired_change_in_log_scrap(jtrain):
    """Wooldridge, Introductory Econometrics, Appendix C, job-training grants and
    worker productivity: for the 19 firms given a grant in 1988, the average change
    in the log scrap rate from 1987 to 1988 is −.374 with s = .637, so
    t = −.374 / (.637/√19) = −2.56 (one-sided p ≈ .01)."""
    firms = jtrain.loc[(jtrain["year"] == 1988) & (jtrain["grant"] == 1), "fcode"]
    rows = jtrain[jtrain["fcode"].isin(firms) & jtrain["year"].isin([1987, 1988])]
    estimate = pre_post(rows, outcome="lscrap", unit="fcode", time="year")
    assert round(estimate.estimate, 3) == -0.374
    assert round(estimate.extras["sd_change"], 3) == 0.637
    assert round(estimate.estimate / estimate.std_error, 2) == -2.56
    assert round(estimate.p_value / 2, 2) == 0.01
    assert estimate.n_treated == 19
    # Two waves and no missing ones: the mixed model's contrast is the paired mean.
    assert estimate.extras["mixed_estimate"] == pytest.approx(estimate.estimate, rel=1e-9)


def test_prop99_difference_in_differences(prop99):
    """Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021, AER 111:4088), Table 1,
    California smoking: the difference-in-differences estimate is −27.3 packs per
    capita (California against the 38 other states, 1970–1988 against 1989–2000)."""
    estimate = did(prop99, outcome="packs", treatment="california", post="post", se="classical")
    assert round(estimate.estimate, 1) == -27.3
    assert (estimate.n_treated, estimate.n_control, estimate.n_obs) == (31, 1178, 1209)


def test_prop99_synthetic_control(prop99):
    """Arkhangelsky et al. (2021), Table 1: synthetic control −19.6 packs per capita.

    With the pre-period outcomes as the only predictors, the synthetic California
    minimises the 1970–1988 prediction error over the simplex. The paper's weights
    come from a slightly different problem (the R package synthdid's ``sc_estimate``:
    a ridge of ``10⁻⁶·σ`` and a Frank–Wolfe solver restarted on the donors it keeps
    after a sparsifying step); the exact simplex solution is −19.51, so the check
    allows 0.15 packs, under 1 % of the effect. The fit before 1989 is close (root
    MSPE under 2 packs against a California mean of 116) and every one of the 38
    donors is run as a placebo. The three heaviest donors are those of Abadie,
    Diamond & Hainmueller (2010, Table 2): Utah, Nevada and Montana.
    """
    estimate = synthetic_control(
        prop99, outcome="packs", unit="state", time="Year", treatment="treated"
    )
    assert estimate.estimate == pytest.approx(-19.6, abs=0.15)
    assert estimate.n_control == 38
    weights = estimate.extras["weights"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0
    assert set(sorted(weights, key=weights.get)[-3:]) == {"Utah", "Nevada", "Montana"}
    assert estimate.extras["pre_rmspe"] < 2


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_jtrain_twfe_cluster_errors_agree_with_pyfixest(jtrain):
    """CR1 by firm, FE nested in clusters not counted, t(G−1): pyfixest's CRV1 default."""
    pyfixest = pytest.importorskip("pyfixest")
    data = jtrain.dropna(subset=["lscrap"])
    fit = pyfixest.feols(
        "lscrap ~ grant + grant_1 | fcode + year", data=data, vcov={"CRV1": "fcode"}
    )
    estimate = twfe(
        jtrain,
        outcome="lscrap",
        treatment="grant",
        unit="fcode",
        time="year",
        covariates=["grant_1"],
        allow_staggered=True,
    )
    assert estimate.estimate == pytest.approx(fit.coef()["grant"], rel=1e-10)
    assert estimate.std_error == pytest.approx(fit.se()["grant"], rel=1e-8)
    low, high = fit.confint().loc["grant"]
    assert estimate.ci_low == pytest.approx(low, rel=1e-8)
    assert estimate.ci_high == pytest.approx(high, rel=1e-8)


# R package Matching (Sekhon), tests/testthat/test-AbadieImbens.R: Match() on the
# Dehejia–Wahba NSW sample (Y = re78/1000), replicating Imbens's reference Matlab
# code (lalonde_exper_04feb2.m). BiasAdj = FALSE, Weight = 1 (inverse variance) or 2
# (Mahalanobis), ties = TRUE, sample = TRUE unless noted. Var.calc = 0 is the
# pooled ("homoskedastic") conditional variance, Var.calc = 3 uses 3 neighbours.
FOUR = ["age", "educ", "re74", "re75"]
MATCHING_CASES = [
    # (covariates, estimand, M, distance, conditional variance, J, variance, est, se)
    (["age"], "ATE", 1, "inverse_variance", "homoskedastic", 1, "sample", 1.78519111481212, 0.686716677322528),
    (FOUR, "ATE", 1, "inverse_variance", "homoskedastic", 1, "sample", 1.71440714918138, 0.740129179632503),
    (FOUR, "ATE", 3, "inverse_variance", "homoskedastic", 1, "sample", 1.53630268121115, 0.661930423623259),
    (FOUR, "ATT", 1, "inverse_variance", "homoskedastic", 1, "sample", 1.72691301785071, 0.836629632308480),
    (FOUR, "ATC", 1, "inverse_variance", "homoskedastic", 1, "sample", 1.70550874262821, 0.820095935752824),
    (FOUR, "ATE", 1, "mahalanobis", "homoskedastic", 1, "sample", 1.59261673326378, 0.684729829415588),
    (FOUR, "ATE", 1, "inverse_variance", "homoskedastic", 1, "population", 1.71440714918138, 0.743384632957198),
    (FOUR, "ATE", 1, "inverse_variance", "neighbours", 3, "sample", 1.71440714918138, 0.696272433717223),
]  # fmt: skip


@pytest.mark.parametrize(
    ("covariates", "estimand", "m", "distance", "conditional", "j", "variance", "est", "se"),
    MATCHING_CASES,
)
def test_matching_reproduces_r_matching(
    nsw, covariates, estimand, m, distance, conditional, j, variance, est, se
):
    """Abadie–Imbens matching estimates and standard errors as R's Matching prints them.

    causaldata stores the earnings as 32-bit floats, so agreement is to ~1e-6.
    """
    estimate = matching(
        nsw,
        outcome="re78k",
        treatment="treat",
        covariates=covariates,
        estimand=estimand,
        neighbours=m,
        distance=distance,
        conditional_variance=conditional,
        variance_neighbours=j,
        variance=variance,
    )
    assert estimate.estimate == pytest.approx(est, rel=2e-6)
    assert estimate.std_error == pytest.approx(se, rel=2e-6)
