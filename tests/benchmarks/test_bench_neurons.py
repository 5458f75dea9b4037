"""The neurons benchmark's pure parts on made-up data: fronts, kinds and T x D of the members,
the hypervolumes per convention, the summaries over seeds and the training log (no training, no
search)."""

from __future__ import annotations

import pytest

from benchmarks.experiments.bench_neurons import (
    band_counts_by_neuron,
    front_by,
    integer_profile,
    member_kind,
    study_hvs,
    summarise_search,
    training_result,
)


def test_front_by_keeps_the_non_dominated_points_by_energy() -> None:
    points = [(0.9, 2.0), (0.8, 1.0), (0.7, 3.0), (0.95, 4.0)]
    assert front_by(points) == [1, 0, 3]
    assert front_by([]) == []


def test_member_kind_and_integer_profile() -> None:
    assert member_kind(["lif", "lif"]) == "lif"
    assert member_kind(["plif", "lif"]) == "plif"
    assert member_kind(["plif", "ilif"]) == "ilif"
    # level is inert for the binary models: only the ilif blocks' levels count
    out = integer_profile(3, ["ilif", "lif", "ilif"], [2, 4, 4])
    assert out == {"kind": "ilif", "ilif_levels": [2, 4], "D": 4, "TxD": 12}
    assert integer_profile(2, ["lif"], [4]) == {
        "kind": "lif",
        "ilif_levels": [],
        "D": None,
        "TxD": 2,
    }


def _m(acc: float, e_s: float, e_m: float, neuron: list[str], test: float | None = None) -> dict:
    return {
        "trial": int(e_s * 10),
        "accuracy": acc,
        "energy_mj": {"spikformer": e_s, "memory": e_m},
        "neuron": neuron,
        "kind": member_kind(neuron),
        "test_accuracy": test,
        "test_energy_mj": {"spikformer": e_s, "memory": e_m} if test is not None else {},
    }


def test_study_hvs_is_a_share_of_each_conventions_box() -> None:
    front = {
        "spikformer": [_m(0.9, 2.0, 8.0, ["lif"], 0.8), _m(0.8, 1.0, 4.0, ["ilif"])],
        "memory": [_m(0.8, 1.0, 4.0, ["ilif"], 0.5)],
    }
    out = study_hvs(front, {"spikformer": 4.0, "memory": 16.0})
    # val: (0.9 x (4 - 2) + 0.8 x (2 - 1)) / 4; test: only the scored member, 0.8 x 2 / 4
    assert out["spikformer"]["val"] == pytest.approx(2.6 / 4)
    assert out["spikformer"]["test"] == pytest.approx(0.4)
    assert out["spikformer"]["test_scored"] == 1
    assert out["memory"]["val"] == pytest.approx(0.8 * 12 / 16)
    assert out["memory"]["test"] == pytest.approx(0.5 * 12 / 16)


def _run(seed: int, hv_n: float, hv_l: float) -> dict:
    def study(hv: float, neurons: list[list[str]]) -> dict:
        front = [_m(0.9, 1.0 + i, 2.0 + i, n) for i, n in enumerate(neurons)]
        hvs = {c: {"val": hv, "test": hv - 0.1} for c in ("spikformer", "memory")}
        return {"hv": hvs, "front": {"spikformer": front, "memory": front[:1]}}

    return {
        "seed": seed,
        "studies": {
            "neurons": study(hv_n, [["ilif"], ["plif", "lif"], ["lif", "lif"]]),
            "lif": study(hv_l, [["lif"], ["lif", "lif"], ["lif", "lif"]]),
        },
    }


def test_summarise_search_pairs_seeds_per_convention_and_counts_kinds() -> None:
    runs = [_run(0, 0.5, 0.4), _run(1, 0.3, 0.4)]
    out = summarise_search(runs, ["lif", "ilif", "plif"])
    assert out["hv"]["memory"]["val"]["neurons"]["mean"] == pytest.approx(0.4)
    diff = out["hv_neurons_minus_lif"]["spikformer"]["test"]
    assert diff["mean"] == pytest.approx(0.0)
    assert diff["neurons_higher"] == 1
    assert out["kinds"]["spikformer"]["neurons"] == {"lif": 2, "plif": 2, "ilif": 2}
    assert out["kinds"]["memory"]["lif"] == {"lif": 2, "plif": 0, "ilif": 0}
    bands = out["bands"]["spikformer"]["neurons"]
    assert sum(b["members"] for b in bands) == 6
    assert bands[0]["ilif"] == 2  # the cheapest members (1 mJ) are the ilif ones
    assert out["front_size"]["memory"]["neurons"]["mean"] == 1
    assert out["same_front"] == {"neurons": 0, "lif": 0}  # memory keeps only the first member


def test_band_counts_by_neuron_reads_the_conventions_energy() -> None:
    members = [_m(0.9, 1.0, 10.0, ["ilif"]), _m(0.9, 10.0, 1.0, ["lif", "lif"])]
    by_s = band_counts_by_neuron(members, [5.0], ["lif", "ilif", "plif"], "spikformer")
    by_m = band_counts_by_neuron(members, [5.0], ["lif", "ilif", "plif"], "memory")
    assert by_s[0]["ilif"] == 1 and by_s[1]["lif"] == 2
    assert by_m[0]["lif"] == 2 and by_m[1]["ilif"] == 1


def test_training_result_reads_the_last_epoch() -> None:
    log = (
        "x INFO supernet.fit: supernet epoch 1/40  loss 2.2  val_acc_largest 14.81%  "
        "val_acc_smallest 10.19%\n"
        "x INFO supernet.fit: supernet epoch 40/40  loss 0.7  val_acc_largest 97.22%  "
        "val_acc_smallest 93.98%\n"
    )
    assert training_result(log) == {
        "epochs": 40,
        "last_epoch": 40,
        "result": "val acc largest 97.22%, smallest 93.98%",
    }
    assert training_result("nothing") is None


def test_unique_members_and_cheapest_at_least() -> None:
    from benchmarks.experiments.bench_neurons import cheapest_at_least, unique_members

    a = {**_m(0.9, 2.0, 8.0, ["lif"]), "describe": "a"}
    b = {**_m(0.95, 3.0, 6.0, ["lif"]), "describe": "b"}
    runs = [
        {"seed": s, "studies": {"lif": {"front": {"spikformer": front, "memory": front}}}}
        for s, front in ((0, [a, b]), (1, [a]))
    ]
    members = unique_members(runs, "lif", "spikformer")
    assert [(m["describe"], m["seeds"]) for m in members] == [("a", [0, 1]), ("b", [0])]
    cheapest_energy = cheapest_at_least(0.9, members, "spikformer")
    cheapest_memory = cheapest_at_least(0.9, members, "memory")
    assert cheapest_energy is not None and cheapest_energy["describe"] == "a"
    assert cheapest_memory is not None and cheapest_memory["describe"] == "b"
    assert cheapest_at_least(0.99, members, "memory") is None


def test_sensitivity_table_puts_each_space_in_a_column() -> None:
    from benchmarks.experiments.bench_neurons import sensitivity_table

    a = {
        "counts": {
            "space": "a-neurons",
            "genes": {"neuron": {"changed": 40, "tried": 40}, "level": {"changed": 3, "tried": 4}},
            "silent": {"blocks.*.fc2": {"silent": 0, "evaluated": 59}},
        }
    }
    b = {
        "counts": {
            "space": "b-neurons",
            "genes": {"neuron": {"changed": 39, "tried": 40}},
            "silent": {"sps.conv0": {"silent": 1, "evaluated": 40}},
        }
    }
    lines = sensitivity_table([a, b])
    assert lines[0] == "| gene: logits changed | a-neurons | b-neurons |"
    assert "| neuron | 40 / 40 (100 %) | 39 / 40 (98 %) |" in lines
    assert "| level | 3 / 4 (75 %) | - |" in lines
    assert "| sps.conv0 | - | 1 / 40 |" in lines
