"""GINO: mesh -> latent grid -> FNO -> mesh; equivariance, transfer between meshes, save/load, training."""

import numpy as np
import pytest
import torch

from pdekit import meshes
from pdekit.operators import GINO, MeshGeometry, bind_geometry, load
from pdekit.operators.normalizers import NormalizedOperator, UnitGaussianNormalizer

pytestmark = pytest.mark.usefixtures("one_thread")

SQUARE = [(0.0, 1.0), (0.0, 1.0)]


def small_gino(**kw):
    torch.manual_seed(0)
    args = dict(latent_shape=(12, 12), n_modes=(6, 6), hidden_channels=8, radius=0.15, n_layers=2,
                kernel_width=16)
    args.update(kw)
    return GINO(1, 1, **args)


def smooth(points):
    return torch.as_tensor(np.sin(3 * points[:, 0]) * np.cos(2 * points[:, 1]), dtype=torch.float32)[None, None]


def test_shapes_2d_3d_and_channels_last():
    mesh = meshes.l_shape(3)
    model = GINO(2, 3, latent_shape=(9, 9), n_modes=(4, 4), hidden_channels=6, radius=0.4,
                 domain=[(-1, 1), (-1, 1)], n_layers=1)
    x = torch.randn(4, 2, mesh.n_points)
    assert model(x, mesh).shape == (4, 3, mesh.n_points)
    last = model(x.transpose(1, 2), mesh, channels_last=True)
    assert last.shape == (4, mesh.n_points, 3)
    assert torch.allclose(last.transpose(1, 2), model(x, mesh), atol=1e-6)
    cube = meshes.unit_cube(3)
    model3 = GINO(1, 1, latent_shape=(6, 6, 6), n_modes=(3, 3, 3), hidden_channels=4, radius=0.3, n_layers=1,
                  factorization="tucker", rank=0.5)
    assert model3(torch.randn(2, 1, cube.n_points), cube).shape == (2, 1, cube.n_points)


def test_one_dimensional_meshes():
    mesh = meshes.interval(40)
    model = GINO(1, 2, latent_shape=(16,), n_modes=(6,), hidden_channels=6, radius=0.1, n_layers=1)
    out = model(torch.sin(torch.linspace(0, 3, 41))[None, None], mesh)
    assert out.shape == (1, 2, 41)
    assert model(torch.zeros(1, 1, 81), meshes.refine(mesh), query_points=[[0.25], [0.5]]).shape == (1, 2, 2)


def test_permuting_the_mesh_points_permutes_the_output():
    mesh = meshes.unstructured_square(8, rng=0)
    g = MeshGeometry.from_mesh(mesh)
    model = small_gino()
    x = torch.randn(2, 1, g.n_points)
    perm = np.random.default_rng(1).permutation(g.n_points)
    out = model(x, g)
    out_perm = model(x[:, :, perm], g.points[perm], weights=g.weights[perm])
    assert torch.allclose(out_perm, out[:, :, perm], atol=1e-5, rtol=1e-4)
    assert not torch.allclose(out, out[:, :, perm], atol=1e-3)  # the output varies over the mesh


def test_one_model_evaluates_on_meshes_of_one_domain_and_converges_under_refinement():
    model = small_gino(radius=0.2)
    base = meshes.perturb(meshes.unit_square(8), 0.3, rng=2)

    @torch.no_grad()
    def response(mesh, **kw):  # the part of the output that the input function causes
        f = smooth(mesh.points)
        return model(f, mesh, **kw) - model(0 * f, mesh, **kw)

    outs = [response(meshes.refine(base, level))[0, 0, : base.n_points]  # coarse points come first
            for level in range(4)]
    diffs = [float((a - b).norm() / b.norm()) for a, b in zip(outs[:-1], outs[1:])]
    assert diffs[-1] < 0.3 * diffs[0], diffs
    assert diffs[-1] < 5e-3, diffs
    # another mesh of the domain, meshed differently: the same function up to the quadrature error
    other, fine = meshes.unstructured_square(40, rng=5), meshes.refine(base, 3)
    query = np.random.default_rng(0).random((50, 2))
    a, b = response(other, query_points=query), response(fine, query_points=query)
    assert float((a - b).norm() / b.norm()) < 1e-2
    assert float((a - response(base, query_points=query)).norm() / b.norm()) > 3 * float((a - b).norm() / b.norm())


def test_bound_mesh_and_cached_neighbourhoods():
    mesh = meshes.unit_square(6)
    model = small_gino()
    x = torch.randn(2, 1, mesh.n_points)
    with pytest.raises(ValueError, match=r"needs the mesh of its input.*model.bind\(mesh\)"):
        model(x)
    expected = model(x, mesh)
    assert model.bind(mesh) is model and model.geometry.n_points == mesh.n_points
    assert torch.equal(model(x), expected)
    geometry = model.geometry
    assert model.bind(meshes.unit_square(6)).geometry is geometry  # found again in the model's cache
    edges = geometry.cached(("gino-in", model._latent_key, model.radius), lambda: None)
    assert edges is not None and edges[0].n_targets == 144
    wrapped = NormalizedOperator(small_gino(), UnitGaussianNormalizer(1).fit(x), UnitGaussianNormalizer(1).fit(x))
    bind_geometry(wrapped, mesh)
    assert wrapped(x).shape == x.shape
    with pytest.raises(ValueError, match="holds no GINO"):
        bind_geometry(torch.nn.Linear(2, 2), mesh)


def test_save_load_is_bit_identical(tmp_path):
    mesh = meshes.unstructured_square(7, rng=1)
    model = small_gino(factorization="cp", rank=0.5, domain_padding=0.25, out_radius=0.2, gno_frequencies=2,
                       in_transform="nonlinear")
    x = torch.randn(3, 1, mesh.n_points)
    model.save(tmp_path / "gino.pt")
    again = load(tmp_path / "gino.pt")
    assert type(again) is GINO and again.config == model.config
    assert torch.equal(again(x, mesh), model(x, mesh))


def test_a_tiny_training_run_decreases_the_loss():
    mesh = meshes.unit_square(8)
    pts = torch.as_tensor(mesh.points, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    c = torch.rand(32, 2, generator=gen)
    a = (torch.sin(3 * pts[:, 0] * c[:, :1] + 2 * pts[:, 1] * c[:, 1:]))[:, None]  # (32, 1, n)
    u = (a * pts[:, 0] * (1 - pts[:, 0])).cumsum(-1) / mesh.n_points  # a non-local target
    model = small_gino().bind(mesh)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = ((model(a) - u).norm(dim=-1) / u.norm(dim=-1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::8]


def test_bad_inputs_raise_clear_errors():
    mesh = meshes.unit_square(4)
    model = small_gino()
    x = torch.randn(1, 1, mesh.n_points)
    with pytest.raises(ValueError, match="works on 2-D points .* got 3-D points"):
        model(torch.randn(1, 1, 27), meshes.unit_cube(2))
    with pytest.raises(ValueError, match="works on 2-D points"):
        model(x, np.random.rand(mesh.n_points, 3), weights=np.ones(mesh.n_points))
    with pytest.raises(ValueError, match="without cells has no quadrature weights"):
        model(x, MeshGeometry.from_mesh(points=mesh.points, cells=np.zeros((0, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="need their quadrature weights"):
        model(x, mesh.points)
    for radius in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="radius must be a positive distance"):
            small_gino(radius=radius)
    with pytest.raises(ValueError, match="out_radius = 0.01 is below half the diagonal"):
        small_gino(out_radius=0.01)
    with pytest.raises(ValueError, match="input has 24 points .* its mesh has 25"):
        model(torch.randn(1, 1, 24), mesh)
    with pytest.raises(ValueError, match="expects 1 input channels"):
        model(torch.randn(1, 2, 25), mesh)
    with pytest.raises(TypeError, match="the input is torch.float64 but the GINO's weights are torch.float32"):
        model(torch.randn(1, 1, 25, dtype=torch.float64), mesh)
    with pytest.raises(ValueError, match=r"outside the model's domain \[\[0.0, 1.0\], \[0.0, 1.0\]\]"):
        model(torch.randn(1, 1, meshes.l_shape(2).n_points), meshes.l_shape(2))
    with pytest.raises(ValueError, match="domain must be 2 pairs"):
        small_gino(domain=[(0, 1)])
    with pytest.raises(ValueError, match="n_modes .* exceed the latent grid"):
        small_gino(n_modes=(13, 6))
    with pytest.raises(ValueError, match="latent_shape must hold 1 to 3 axes"):
        small_gino(latent_shape=(1, 12))
