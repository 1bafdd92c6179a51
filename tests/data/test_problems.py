"""The problem registry checks parameters where they enter: types, ranges, resolutions."""

from __future__ import annotations

import numpy as np
import pytest

import tests.data.toy_problems  # noqa: F401
from pdekit.data import get_problem, list_problems

BUILTIN = ["advection-diffusion", "burgers", "darcy", "darcy-fem", "heat", "navier-stokes", "wave",
           "wave-fem"]


def test_every_builtin_problem_has_ranges_domain_and_boundary_conditions():
    assert set(BUILTIN) <= set(list_problems())
    for name in BUILTIN:
        p = get_problem(name)
        assert p.limits and p.boundary_conditions, name
        assert p.resolve_params({}) == {**p.defaults, **{k: v for k, v in p.resolve_params({}).items()}}
        low, high = p.resolution_range
        assert 2 == low < high
    heat = get_problem("heat")
    assert heat.describe_domain(heat.coordinates(8, **heat.resolve_params({}))) == \
        {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    fem = get_problem("darcy-fem")
    assert fem.describe_domain(fem.coordinates(5, **fem.resolve_params({}))) == \
        {"x": [0.0, 1.0], "y": [0.0, 1.0], "geometry": "mesh"}


@pytest.mark.parametrize("name, params, error, match", [
    ("heat", {"dt": -0.01}, ValueError, "parameter dt must be > 0; got -0.01"),
    ("heat", {"dt": 0}, ValueError, "parameter dt must be > 0; got 0.0"),
    ("heat", {"theta": 1.5}, ValueError, r"parameter theta must be in \[0, 1\]; got 1.5"),
    ("heat", {"dt": "0.1"}, TypeError, "parameter dt of 'heat' must be a number .*got '0.1'"),
    ("heat", {"dt": float("nan")}, ValueError, "must be finite"),
    ("heat", {"dt": 1 + 2j}, TypeError, "must be a number"),
    ("heat", {"n_records": 2.5}, TypeError, "n_records of 'heat' must be an integer"),
    ("heat", {"n_records": True}, TypeError, "must be an integer"),
    ("wave", {"cfl": 2.0}, ValueError, r"parameter cfl must be in \(0, 1\]"),
    ("navier-stokes", {"nu": 0.0}, ValueError, "parameter nu must be > 0"),
    ("navier-stokes", {"advection": "rk4"}, ValueError, r"must be one of \['euler', 'heun'\]"),
    ("darcy", {"a_low": -3.0}, ValueError, "parameter a_low must be > 0"),
    ("darcy", {"solver": "lu"}, ValueError, "parameter solver must be one of"),
    ("darcy", {"preconditioner": "ilu"}, ValueError, "unknown preconditioner 'ilu'"),
    ("advection-diffusion", {"velocity": [1.0]}, ValueError, "velocity must be a list of 2 finite numbers"),
    ("darcy-fem", {"degree": 3}, ValueError, r"parameter degree must be one of \[1, 2\]"),
    ("wave-fem", {"dt": -1.0}, ValueError, "parameter dt must be > 0"),
    ("burgers", {"bogus": 1}, ValueError, r"unknown parameter\(s\) \['bogus'\]"),
])
def test_out_of_range_parameters_are_refused(name, params, error, match):
    with pytest.raises(error, match=match):
        get_problem(name).resolve_params(params)


def test_ints_are_floats_where_the_default_is_a_float():
    params = get_problem("heat").resolve_params({"dt": 1, "kappa": np.float32(0.5)})
    assert params["dt"] == 1.0 and isinstance(params["dt"], float) and type(params["kappa"]) is float


@pytest.mark.parametrize("name, resolution, params, error, match", [
    ("darcy-fem", 1_000_000, {}, ValueError, r"resolution 1000000 is out of range for 'darcy-fem': "
                                             r"expected 2 <= resolution <= 2049"),
    ("darcy", 9, {"solve_resolution": 20}, ValueError, "stride"),
    ("darcy", 17, {"solve_resolution": 9}, ValueError, "must be >= resolution"),
    ("navier-stokes", 16, {"t_final": 1.0, "dt": 0.1, "record_every": 20}, ValueError, "no frame"),
    ("burgers", 1, {}, ValueError, "out of range"),
    ("darcy-fem", 8, {"mesh": "/nowhere/m.msh"}, FileNotFoundError, "mesh file '/nowhere/m.msh' not found"),
])
def test_resolutions_and_combinations_are_checked(name, resolution, params, error, match):
    p = get_problem(name)
    with pytest.raises(error, match=match):
        p.check_resolution(resolution, p.resolve_params(params))
