from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
import yaml

from evosnn.core.errors import SpaceError
from evosnn.core.space import SearchSpace, load_space
from tests.conftest import SPACES, tiny_dict, write_space


@pytest.mark.parametrize("path", sorted(SPACES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_spaces_load(path: Path) -> None:
    space = load_space(path)
    # counted from the file's own choice lists, not the loaded space: embed x T x the sum over
    # depths d of (block operators x neuron settings) ** d (a block past the depth is inert);
    # heads matter for ssa only; threshold and tau always (every mixer's q, k, v or token-linear
    # LIFs take them), the level for ilif only
    raw = yaml.safe_load(path.read_text())["choices"]
    heads, th, tau = len(raw["num_heads"]), len(raw["threshold"]), len(raw["tau"])
    mixers = sum(heads if m == "ssa" else 1 for m in raw.get("mixer", ["ssa"]))
    per_block = len(raw["mlp_ratio"]) * mixers
    levels = {"lif": 1, "plif": 1, "ilif": len(raw.get("level", [4]))}
    neurons = th * tau * sum(levels[n] for n in raw.get("neuron", ["lif"]))
    blocks = sum((per_block * neurons) ** d for d in raw["depth"])
    assert space.num_subnets() == len(raw["embed_dim"]) * len(raw["time_steps"]) * blocks
    assert space.num_architectures() == len(raw["embed_dim"]) * sum(
        per_block**d for d in raw["depth"]
    )


def test_cifar_space_is_auto_spikformers(cifar_space: SearchSpace) -> None:
    ch = cifar_space.choices
    assert (cifar_space.supernet.depth, cifar_space.supernet.embed_dim) == (4, 384)
    assert cifar_space.supernet.num_heads == 12
    assert ch.depth == [2, 3, 4]
    assert ch.embed_dim == [192, 240, 336, 384]
    assert ch.mlp_ratio == [3.0, 3.5, 4.0]
    assert ch.num_heads == [6, 12]
    assert ch.time_steps == [2, 3, 4, 5, 6]
    assert ch.threshold == pytest.approx([0.6 + 0.2 * i for i in range(8)])
    assert ch.tau == [1.25, 2.0, 10.0]


def test_num_subnets_counts_by_hand(tiny_space: SearchSpace) -> None:
    # embed 2 x T 2 x (per block 2*2*2*2 = 16) ** depth, depth in {1, 2}
    assert tiny_space.num_subnets() == 2 * 2 * (16 + 16**2)
    assert tiny_space.num_architectures() == 2 * (4 + 4**2)


BAD: list[tuple[str, Any, str]] = [
    ("unknown top key", lambda d: d.update(colour="red"), "colour: unknown field"),
    (
        "unknown nested key",
        lambda d: d["choices"].update(width=[1]),
        "choices.width: unknown field",
    ),
    ("empty list", lambda d: d["choices"].update(depth=[]), "choices.depth"),
    (
        "too big",
        lambda d: d["choices"].update(embed_dim=[16, 64]),
        "larger than supernet.embed_dim",
    ),
    ("not divisible", lambda d: d["choices"].update(num_heads=[3]), "not divisible by num_heads"),
    ("wrong type", lambda d: d["supernet"].update(depth="two"), "supernet.depth"),
    ("negative", lambda d: d["supernet"].update(embed_dim=-8), "supernet.embed_dim"),
    ("huge list", lambda d: d["choices"].update(tau=[1.0 + i for i in range(500)]), "choices.tau"),
    ("duplicates", lambda d: d["choices"].update(tau=[2.0, 2.0]), "distinct"),
    ("missing section", lambda d: d.pop("supernet"), "supernet: missing field"),
    ("default not a choice", lambda d: d["neuron_defaults"].update(tau=3.0), "neuron_defaults.tau"),
    ("bad image size", lambda d: d["dataset"].update(image_size=10), "divisible by 4"),
    (
        "bad params order",
        lambda d: d.update(objectives={"min_params_m": 2, "max_params_m": 1}),
        "min_params_m",
    ),
    ("tau below one", lambda d: d["choices"].update(tau=[0.5]), "choices.tau"),
    (
        "unknown energy convention",
        lambda d: d.update(energy={"convention": "syops"}),
        "energy.convention: Input should be 'spikformer', 'strict' or 'memory'",
    ),
    (
        "unknown dataflow",
        lambda d: d.update(energy={"dataflow": "row-stationary"}),
        "energy.dataflow: Input should be 'event-driven' or 'weight-stationary'",
    ),
    (
        "zero weight bits",
        lambda d: d.update(energy={"weight_bits": 0}),
        "energy.weight_bits: Input should be greater than or equal to 1",
    ),
    ("negative E_MAC", lambda d: d.update(energy={"e_mac_pj": -4.6}), "energy.e_mac_pj"),
    ("negative E_AC", lambda d: d.update(energy={"e_ac_pj": -0.9}), "energy.e_ac_pj"),
    ("zero training epochs", lambda d: d.update(training={"epochs": 0}), "training.epochs"),
    (
        "unknown sampling rule",
        lambda d: d.update(training={"sampling": "best"}),
        "training.sampling",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_space_is_one_line_naming_file_and_field(
    tmp_path: Path, case: str, mutate: Any, expected: str
) -> None:
    data = tiny_dict()
    mutate(data)
    path = write_space(tmp_path, data)
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_not_yaml_and_not_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpaceError, match="not valid YAML at line"):
        load_space(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SpaceError, match="expected a mapping"):
        load_space(bad)
    with pytest.raises(SpaceError, match="not found"):
        load_space(tmp_path / "missing.yaml")


def test_yaml_is_parsed_safely(tmp_path: Path) -> None:
    bad = tmp_path / "evil.yaml"
    bad.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(bad)


def test_incompatibility(tiny_space: SearchSpace) -> None:
    from evosnn.core.space import SearchSpace

    narrower = tiny_dict()
    narrower["choices"]["tau"] = [2.0]
    assert SearchSpace.from_dict(narrower).incompatibility(tiny_space) is None
    wider = tiny_dict()
    wider["choices"]["tau"] = [2.0, 4.0, 8.0]
    assert "never sampled" in str(SearchSpace.from_dict(wider).incompatibility(tiny_space))
    other = tiny_dict()
    other["supernet"]["embed_dim"] = 64
    assert "geometry" in str(SearchSpace.from_dict(other).incompatibility(tiny_space))


def test_round_trip_through_dict(digits_space: SearchSpace) -> None:
    from evosnn.core.space import SearchSpace

    again = SearchSpace.from_dict(yaml.safe_load(yaml.safe_dump(digits_space.to_dict())))
    assert again == digits_space


def test_training_defaults_are_not_part_of_the_space(tiny_space: SearchSpace) -> None:
    """``training`` holds a command's defaults: 40 uniform epochs unless the space says otherwise
    (120 with the smallest architecture in every step for digit-pairs-tiny, where the proxy needs
    them); it is left out of the stored copy, so two spaces that differ only there are the same
    space. Its rules are the trainer's."""
    from evosnn.core.space import SearchSpace, TrainingSpec
    from supernet.recipe import TrainSettings

    assert (tiny_space.training.epochs, tiny_space.training.sampling) == (40, "uniform")
    digits = load_space(SPACES / "digits-tiny.yaml").training
    assert (digits.epochs, digits.sampling) == (40, "uniform")
    pairs = load_space(SPACES / "digit-pairs-tiny.yaml").training
    assert (pairs.epochs, pairs.sampling) == (120, "smallest")
    longer = SearchSpace.from_dict(
        {**tiny_dict(), "training": {"epochs": 120, "sampling": "smallest"}}
    )
    assert longer.training.epochs == 120 and "training" not in longer.to_dict()
    assert longer.to_dict() == tiny_space.to_dict()
    assert longer.incompatibility(tiny_space) is None
    rules = get_args(TrainingSpec.model_fields["sampling"].annotation)
    assert rules == get_args(get_type_hints(TrainSettings)["sampling"])
