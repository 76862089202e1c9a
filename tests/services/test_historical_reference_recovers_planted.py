"""The historical-reference estimate recovers the saving ``utfall synth`` planted.

One data set can miss by chance (the default seed's estimate lies almost 3 standard errors
from the planted saving), so this checks the contract's own cost evaluation over many
seeds, on the tables the contract declares: its analytic 95 % interval covers the planted
saving about 95 % of the time and its errors, in standard errors, centre on zero.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.evaluation import EvaluationContext, evaluate
from utfall.synth import generate

CONTRACT = (
    Path(__file__).resolve().parents[2] / "examples/contracts/norrkoping-placed-children.yaml"
)


def test_interval_covers_the_planted_saving_across_seeds(tmp_path):
    contract = contract_read(CONTRACT)
    costs = contract.evaluations["costs"]
    spec = costs.model_copy(update={"ci": costs.ci.model_copy(update={"method": "analytic"})})
    context = EvaluationContext(declaration=contract.data, periods=contract.periods)
    covered, errors = 0, []
    for seed in range(1, 21):
        out = tmp_path / str(seed)
        planted = generate("norrkoping", out, seed=seed)["planted"]
        estimate = evaluate(spec, DirectoryTables(out, contract.data), context)
        # The saving planted up to the evaluation's horizon (the contract-bearing months).
        truth = planted["cumulative_by_month_sek"][spec.options["horizon"]]
        covered += estimate.ci_low <= truth <= estimate.ci_high
        errors.append((estimate.estimate - truth) / estimate.std_error)
    assert covered >= 16  # 20 draws at 95 %: fewer than 16 has probability < 0.3 %
    assert abs(statistics.mean(errors)) < 0.75  # unbiased: mean z within ~3.3 SE of 0
    assert 0.6 < statistics.pstdev(errors) < 1.5  # the standard error is the right size
