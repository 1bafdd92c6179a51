"""Training samples from time steps: autoregressive pairs and (parameters, t) inputs."""

import numpy as np
import pytest

from pdekit.streaming.targets import Autoregressive, ParameterTarget, make_target


def step(k):
    return (np.full((2, 2), float(k)),)


def test_pairs_of_consecutive_steps_and_the_cache():
    t = Autoregressive(steps=4)
    assert t.samples(0, 0, 0, step(0), None) == [] and t.cache_bytes == 32
    (it,) = t.samples(0, 0, 1, step(1), None)
    assert it.key == (0, 0, 1) and it.x[0][0, 0] == 0 and it.y[0][0, 0] == 1 and it.nbytes == 64
    t.samples(0, 0, 2, step(2), None)
    (last,) = t.samples(0, 0, 3, step(3), None)
    assert last.x[0][0, 0] == 2 and t.cache_bytes == 0  # the last step is not kept


def test_a_relaunch_refills_the_cache_from_the_resent_step():
    t = Autoregressive(steps=5)
    t.samples(0, 0, 0, step(0), None)
    t.samples(0, 0, 1, step(1), None)
    t.forget(0)  # e.g. a trainer restart: the cache is not in the checkpoint
    t.duplicate(0, 0, 0, step(0), next_needed=False)
    t.duplicate(0, 0, 1, step(1), next_needed=True)
    (it,) = t.samples(0, 0, 2, step(2), None)
    assert it.x[0][0, 0] == 1


def test_no_pair_across_draws():
    t = Autoregressive(steps=5)
    t.samples(0, 0, 0, step(0), None)
    assert t.samples(0, 1, 1, step(1), None) == []


def test_parameter_target_inputs():
    t = make_target("parameters", steps=5, parameter_names=["a", "b"])
    (it,) = t.samples(3, 0, 2, step(2), np.array([1.5, -1.0]))
    np.testing.assert_array_equal(it.x, [1.5, -1.0, 0.5])
    assert isinstance(t, ParameterTarget) and t.factor == 1


def test_bad_targets():
    with pytest.raises(ValueError, match="at least one --parameter"):
        make_target("parameters", steps=3)
    with pytest.raises(ValueError, match="--steps must be >= 2"):
        make_target("autoregressive", steps=1)
    with pytest.raises(ValueError, match="unknown target"):
        make_target("forecast", steps=3)
