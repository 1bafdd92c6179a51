"""Radius neighbourhoods (cKDTree, CSR) and the sum of messages into their targets."""

import numpy as np
import pytest
import torch

from pdekit.operators.neighborhoods import Neighborhoods, neighborhood_sum, radius_neighborhoods


def brute_force(sources, targets, radius):
    dist = np.linalg.norm(targets[:, None, :] - sources[None, :, :], axis=-1)
    return [np.flatnonzero(row <= radius).tolist() for row in dist]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_neighborhoods_match_brute_force(dim):
    rng = np.random.default_rng(dim)
    sources, targets = rng.random((300, dim)), rng.random((40, dim))
    nb = radius_neighborhoods(sources, targets, 0.2)
    expected = brute_force(sources, targets, 0.2)
    assert nb.n_targets == 40 and nb.n_sources == 300
    assert [nb.indices[nb.indptr[i]:nb.indptr[i + 1]].tolist() for i in range(40)] == expected
    assert nb.n_edges == sum(map(len, expected))
    assert nb.rows().tolist() == [i for i, row in enumerate(expected) for _ in row]


def test_radius_is_inclusive_and_rows_may_be_empty():
    sources = np.array([[0.0, 0.0], [0.5, 0.0]])
    nb = radius_neighborhoods(sources, np.array([[0.0, 0.0], [5.0, 5.0]]), 0.5)
    assert nb.indptr.tolist() == [0, 2, 2]
    assert nb.counts().tolist() == [2, 0]


def test_neighborhood_sum_adds_edge_values_into_targets():
    nb = Neighborhoods(indptr=np.array([0, 2, 2, 5]), indices=np.array([0, 3, 1, 2, 3]), n_sources=4)
    _, targets = nb.torch_edges("cpu")
    values = torch.arange(10.0).reshape(1, 5, 2)
    out = neighborhood_sum(values, targets, nb.n_targets)
    assert out.tolist() == [[[2.0, 4.0], [0.0, 0.0], [18.0, 21.0]]]
    assert nb.torch_edges("cpu")[0] is nb.torch_edges(torch.device("cpu"))[0]  # cached per device


@pytest.mark.parametrize("radius", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_radius_is_refused(radius):
    with pytest.raises(ValueError, match="radius must be a positive number"):
        radius_neighborhoods(np.zeros((3, 2)), np.zeros((1, 2)), radius)


def test_points_of_other_dimensions_are_refused():
    with pytest.raises(ValueError, match=r"targets are 3-D; expected 2-D points"):
        radius_neighborhoods(np.zeros((3, 2)), np.zeros((1, 3)), 1.0)
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        radius_neighborhoods(np.zeros(3), np.zeros((1, 1)), 1.0)


def test_weighted_sum_and_its_gradients_match_plain_autograd():
    from pdekit.operators.neighborhoods import weighted_neighborhood_sum

    rng = np.random.default_rng(0)
    nb = radius_neighborhoods(rng.random((30, 2)), rng.random((7, 2)), 0.4)
    sources, targets = nb.torch_edges("cpu")
    f = torch.randn(3, 30, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(nb.n_edges, 4, dtype=torch.float64, requires_grad=True)
    out = weighted_neighborhood_sum(f, k, nb)
    plain = neighborhood_sum(f[:, sources] * k, targets, nb.n_targets)
    torch.testing.assert_close(out, plain)
    assert torch.autograd.gradcheck(lambda f, k: weighted_neighborhood_sum(f, k, nb), (f, k))
