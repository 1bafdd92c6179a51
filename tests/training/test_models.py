"""Operators by name: sizes, resolution independence, clear errors."""

from __future__ import annotations

import pytest
import torch

from pdekit.training.models import build_model


def test_fno_and_tfno_sizes_and_other_resolutions():
    fno = build_model("fno", in_channels=1, out_channels=1, n_dim=2, modes=6, width=8, layers=2)
    tfno = build_model("tfno", in_channels=1, out_channels=1, n_dim=2, modes=6, width=8, layers=2, rank=0.1)
    assert type(fno).__name__ == "FNO" and type(tfno).__name__ == "TFNO"
    assert tfno.n_parameters() < fno.n_parameters()
    for s in (16, 33):
        assert tfno(torch.randn(2, 1, s, s)).shape == (2, 1, s, s)
    mg = build_model("mgtfno", in_channels=1, out_channels=1, n_dim=2, modes=4, width=8, layers=2, rank=0.1,
                     levels=1)
    assert type(mg).__name__ == "MGTFNO" and mg(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    one_d = build_model("fno", in_channels=2, out_channels=3, n_dim=1, modes=[4], width=4, layers=1)
    assert one_d(torch.randn(1, 2, 20)).shape == (1, 3, 20)


def test_errors():
    with pytest.raises(ValueError, match=r"unknown model 'unet'; expected one of \['fno', 'gino', 'mgtfno', 'tfno'\]"):
        build_model("unet", in_channels=1, out_channels=1, n_dim=2)
    with pytest.raises(ValueError, match="one per spatial dimension \\(2\\); got \\[4, 4, 4\\]"):
        build_model("fno", in_channels=1, out_channels=1, n_dim=2, modes=[4, 4, 4])
    with pytest.raises(ValueError, match="1, 2 or 3 spatial dimensions; got 4"):
        build_model("fno", in_channels=1, out_channels=1, n_dim=4)


def test_gino_spans_the_training_mesh_with_a_default_radius():
    import numpy as np

    from pdekit import meshes

    mesh = meshes.l_shape(3)
    model = build_model("gino", in_channels=1, out_channels=2, n_dim=2, modes=4, width=8, layers=1,
                        points=mesh.points, latent_shape=9)
    assert type(model).__name__ == "GINO" and model.latent_shape == (9, 9)
    np.testing.assert_allclose(model.box, [[-1.04, 1.04], [-1.04, 1.04]])
    assert model.radius == pytest.approx(1.5 * 2.08 / 8)
    assert model(torch.randn(2, 1, mesh.n_points), mesh).shape == (2, 2, mesh.n_points)
    three = build_model("gino", in_channels=1, out_channels=1, n_dim=3, modes=[2, 2, 2], width=4, layers=1,
                        points=meshes.unit_cube(2).points, latent_shape=[4, 4, 5], radius=0.5)
    assert three.latent_shape == (4, 4, 5) and three.radius == 0.5


def test_gino_and_mesh_data_errors():
    from pdekit import meshes

    with pytest.raises(ValueError, match="fno trains on grids; mesh data .* need --model gino"):
        build_model("fno", in_channels=1, out_channels=1, n_dim=2, points=meshes.unit_square(2).points)
    with pytest.raises(ValueError, match="gino trains on mesh data and needs the mesh's points"):
        build_model("gino", in_channels=1, out_channels=1, n_dim=2)
    with pytest.raises(ValueError, match=r"mesh points must have shape \(n, 2\)"):
        build_model("gino", in_channels=1, out_channels=1, n_dim=2, points=meshes.unit_cube(2).points)
