"""The networks shipped inside the package."""

from __future__ import annotations

import pytest

from pdekit.operators import VCycleNet, list_pretrained, pretrained
from pdekit.operators.pretrained_networks import PRETRAINED_DIR, pretrained_card


@pytest.mark.parametrize("name, ndim", [("dcdm-poisson-2d", 2), ("dcdm-poisson-3d", 3)])
def test_shipped_networks_load_and_are_small(name, ndim):
    assert name in list_pretrained()
    net = pretrained(name)
    assert isinstance(net, VCycleNet) and net.ndim == ndim and not net.training
    files = list(PRETRAINED_DIR.glob(f"{name}.*"))
    assert {f.suffix for f in files} == {".pt", ".json"}
    assert sum(f.stat().st_size for f in files) < 1_000_000
    card = pretrained_card(name)
    assert card["config"] == net.config and card["n_parameters"] == net.n_parameters()
    assert card["final_loss"] < 0.25 * card["initial_loss"]
    assert card["train_seconds"] > 0 and card["scale"] == 1.0


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown pretrained network 'dcdm-poisson-4d'; expected one of"):
        pretrained("dcdm-poisson-4d")


def test_shipped_algebraic_network():
    from pdekit.operators import AlgebraicVCycleNet

    net = pretrained("dcdm-algebraic")
    assert isinstance(net, AlgebraicVCycleNet) and not net.training and net.cycle == "K"
    card = pretrained_card("dcdm-algebraic")
    assert card["config"] == net.config and card["n_parameters"] == net.n_parameters() == 14
    assert card["final_loss"] < 0.5 * card["initial_loss"] and card["scale"] == 1.0
    described = " ".join(s["system"] for s in card["systems"])
    for kind in ("P1", "P2", "2D", "3D", "threshold", "lognormal"):  # trained on all of them
        assert kind in described
    assert "disk" not in described and "L-shape" not in described  # the benchmark's meshes are held out
