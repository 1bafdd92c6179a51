import pytest

from pdekit.streaming.sampler import ParameterSpace, parse_parameter


def test_parse_parameter():
    assert parse_parameter("alpha=0.5:2.0") == ("alpha", 0.5, 2.0)
    assert parse_parameter(" kappa = 1e-3:1e-2") == ("kappa", 0.001, 0.01)
    for bad in ("alpha", "alpha=1", "1a=0:1", "alpha=a:b", "alpha=2:1", "alpha=0:inf"):
        with pytest.raises(ValueError, match="--parameter"):
            parse_parameter(bad)


def test_draws_depend_only_on_seed_simulation_draw_and_role():
    space = ParameterSpace(["a=0:1", "b=5:6"], seed=3)
    first = space.draw(4, 1)
    assert ParameterSpace({"a": (0, 1), "b": (5, 6)}, seed=3).draw(4, 1) == first
    assert space.draw(4, 2) != first and space.draw(5, 1) != first
    assert space.draw(4, 1, role="validation") != first
    assert 0 <= first["a"] <= 1 and 5 <= first["b"] <= 6 and space.names == ("a", "b")
    seeded = ParameterSpace(["a=0:1"], draw_seed=True).draw(0)
    assert isinstance(seeded["seed"], int)
    with pytest.raises(ValueError, match="given once"):
        ParameterSpace(["a=0:1", "a=1:2"])
    with pytest.raises(ValueError, match="reserved"):
        ParameterSpace(["seed=0:1"], draw_seed=True)
