"""The historical-reference estimate recovers the saving ``utfall synth`` planted.

One data set can miss by chance (the default seed's estimate lies almost 3 standard errors
from the planted saving), so this checks the estimator over many seeds: its analytic
95 % interval covers the planted saving about 95 % of the time and its errors, in
standard errors, centre on zero.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from utfall.services.evaluation import evaluate_spec, load_spec
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples/evaluations/norrkoping-costs-historical-reference.yaml"


def test_interval_covers_the_planted_saving_across_seeds(tmp_path):
    template = load_spec(SPEC)
    covered, errors = 0, []
    seeds = range(1, 21)
    for seed in seeds:
        out = tmp_path / str(seed)
        generate("norrkoping", out, seed=seed)
        planted = json.loads((out / "manifest.json").read_text())["planted"]
        options = {**template.options, "price_index": str(out / "price_index.parquet")}
        spec = template.model_copy(
            update={
                "data": out / "costs.parquet",
                "options": options,
                "ci": template.ci.model_copy(update={"method": "analytic"}),
            }
        )
        estimate = evaluate_spec(spec)
        truth = planted["cumulative_saving_sek"]
        covered += estimate.ci_low <= truth <= estimate.ci_high
        errors.append((estimate.estimate - truth) / estimate.std_error)
    assert covered >= 16  # 20 draws at 95 %: fewer than 16 has probability < 0.3 %
    assert abs(statistics.mean(errors)) < 0.75  # unbiased: mean z within ~3.3 SE of 0
    assert 0.6 < statistics.pstdev(errors) < 1.5  # the standard error is the right size
