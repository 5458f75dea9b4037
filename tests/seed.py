"""Seed a study with thousands of real trial records in one transaction (for load tests).

Running 5,000 evaluations would take an hour; writing them one trial at a time through Optuna's
API takes minutes (one transaction per attribute). Here the rows are written with Optuna's own ORM
models in a single transaction: the same tables and encodings that `Ledger.start`/`finish` write,
which `test_seeded_trials_read_back_like_driver_written_ones` checks.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from optuna.distributions import distribution_to_json
from optuna.storages._rdb import models  # the ORM that RDBStorage itself writes through
from optuna.trial import TrialState

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import Ledger


def synthetic_evaluation(codec: GenomeCodec, genome: Genome, rng: random.Random) -> Evaluation:
    """Plausible numbers: accuracy and energy grow with the subnet's size, plus noise."""
    c = codec.decode(genome)
    size = c.depth * c.embed_dim * c.time_steps
    accuracy = min(0.99, 0.5 + 0.4 * size / (1 + size) + rng.uniform(-0.05, 0.05))
    energy = 1e-4 * size * rng.uniform(0.8, 1.2)
    return Evaluation(
        status="ok",
        accuracy=accuracy,
        energy_mj=energy,
        f_aeb=accuracy * rng.uniform(0.9, 1.1),
        sops=1e6 * size,
        macs=1e5,
        params=1000 * size,
        correct=int(accuracy * 216),
        total=216,
        firing_rates={"sps.conv1": 0.2, "blocks.0.qkv": rng.random()},
        wall_time_s=0.05,
    )


def trial_attrs(genome: Genome, evaluation: Evaluation, generation: int) -> dict[str, object]:
    """The user attrs `Ledger.start` + `Ledger.finish` write for an ok evaluation."""
    data = {k: v for k, v in evaluation.to_dict().items() if k != "status"}
    return {
        "genome": list(genome),
        "generation": generation,
        "engine": "pymoo",
        **data,
        "attempts": 1,
        "worker": 0,
        "worker_pid": 1,
        "violation": 0.0,
        "feasible": True,
    }


def seed_study(
    url: str, study: str, space: SearchSpace, n: int, *, seed: int = 0, population: int = 50
) -> list[Genome]:
    """Write ``n`` COMPLETE trials of distinct canonical genomes; returns the genomes."""
    codec = GenomeCodec(space)
    ledger = Ledger.open(url, study, codec)
    rng = random.Random(seed)
    genomes: dict[Genome, None] = {}
    while len(genomes) < n:
        genomes.setdefault(codec.canonical(codec.sample(rng)), None)
    distributions = ledger._distributions
    dist_json = {name: distribution_to_json(d) for name, d in distributions.items()}
    now = dt.datetime.now()
    session = ledger.storage.scoped_session()
    try:
        start = (
            session.query(models.TrialModel)
            .filter(models.TrialModel.study_id == ledger.study_id)
            .count()
        )
        for i, genome in enumerate(genomes):
            evaluation = synthetic_evaluation(codec, genome, rng)
            trial = models.TrialModel(
                number=start + i,
                study_id=ledger.study_id,
                state=TrialState.COMPLETE,
                datetime_start=now,
                datetime_complete=now,
            )
            session.add(trial)
            for gene, index in zip(codec.genes, genome, strict=True):
                trial.params.append(
                    models.TrialParamModel(
                        param_name=gene.name,
                        param_value=float(index),  # categorical: the choice's index
                        distribution_json=dist_json[gene.name],
                    )
                )
            for objective, value in enumerate((evaluation.accuracy, evaluation.energy_mj)):
                trial.values.append(
                    models.TrialValueModel(
                        objective=objective,
                        value=value,
                        value_type=models.TrialValueModel.TrialValueType.FINITE,
                    )
                )
            for key, attr in trial_attrs(genome, evaluation, i // population).items():
                trial.user_attributes.append(
                    models.TrialUserAttributeModel(key=key, value_json=json.dumps(attr))
                )
        session.commit()
    finally:
        session.close()
    return list(genomes)
