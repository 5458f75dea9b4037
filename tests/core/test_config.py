from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import ConfigError


def base() -> dict[str, Any]:
    return {
        "depth": 2,
        "embed_dim": 64,
        "mlp_ratio": [4.0, 3.0],
        "num_heads": [4, 2],
        "threshold": [1.0, 0.8],
        "tau": [2.0, 10.0],
        "time_steps": 4,
    }


def test_round_trip_and_sizes() -> None:
    config = SubnetConfig.from_dict(base())
    assert SubnetConfig.from_yaml(config.to_yaml()) == config
    assert config.mlp_hidden(0) == 256 and config.mlp_hidden(1) == 192


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"depth": 3}, "one value per block"),
        ({"embed_dim": 60}, "multiple of 8"),
        ({"num_heads": [3, 2]}, r"num_heads\[0\]"),
        ({"tau": [0.5, 2.0]}, r"tau\[0\]"),
        ({"threshold": [float("nan"), 1.0]}, r"threshold\[0\]"),
        ({"time_steps": "4"}, "time_steps"),
        ({"colour": 1}, "unknown field"),
        ({"mlp_ratio": "wide"}, "mlp_ratio"),
    ],
)
def test_hand_edited_configs_fail_clearly(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SubnetConfig.from_dict({**base(), **change}, source="arch.yaml")


def test_missing_field() -> None:
    data = base()
    del data["tau"]
    with pytest.raises(ConfigError, match=r"arch.yaml: missing field\(s\) \['tau'\]"):
        SubnetConfig.from_dict(data, source="arch.yaml")


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*base(), "extra"]),
        st.one_of(
            st.integers(-5, 500),
            st.floats(),
            st.text(max_size=3),
            st.lists(st.floats(), max_size=3),
        ),
    )
)
def test_fuzzed_mappings_give_config_or_config_error(data: dict[str, Any]) -> None:
    try:
        config = SubnetConfig.from_dict({**base(), **data})
    except ConfigError:
        return
    assert SubnetConfig.from_yaml(config.to_yaml()) == config
