"""``pdekit export``: PDEBench and The Well files from the command line, refusals as one line and exit 2."""

import h5py
import numpy as np

from pdekit.cli import main
from pdekit.data import generate


def test_export_both_formats_and_refusals(tmp_path, capsys):
    data = generate("heat", tmp_path / "heat.h5", n=2, resolution=6, seed=0, workers=0, n_records=2,
                    t_final=0.2, dt=0.05).path
    well = tmp_path / "heat_well.h5"
    assert main(["export", str(data), "--format", "the-well", "-o", str(well), "--quiet"]) == 0  # recorded BCs
    assert capsys.readouterr().out == ""
    with h5py.File(well, "r") as f, h5py.File(data, "r") as d:
        assert f.attrs["n_trajectories"] == 2 and f["t0_fields"]["u"].shape == (2, 3, 6, 6)
        assert np.array_equal(f["t0_fields"]["u"][1, 1:], d["outputs"][1][..., 0])
        assert [f["boundary_conditions"][k].attrs["bc_type"] for k in f["boundary_conditions"]] == ["PERIODIC"] * 2
    bench = tmp_path / "heat_pdebench.h5"
    assert main(["export", str(data), "--format", "pdebench", "-o", str(bench)]) == 0
    assert f"wrote {bench} (pdebench)" in capsys.readouterr().out
    with h5py.File(bench, "r") as f:
        assert sorted(f) == ["0000", "0001"] and f["0001"]["data"].shape == (3, 6, 6, 1)

    # refusals: one line on stderr, exit code 2
    assert main(["export", str(data), "--format", "pdebench", "-o", str(bench)]) == 2
    assert "exists; pass overwrite=True (pdekit export --overwrite)" in capsys.readouterr().err
    assert main(["export", str(data), "--format", "pdebench", "-o", str(bench), "--overwrite", "--quiet"]) == 0
    assert main(["export", str(data), "--format", "the-well", "-o", str(tmp_path / "x.h5"), "--bc", "x"]) == 2
    assert "--bc takes AXIS=TYPE" in capsys.readouterr().err
    assert main(["export", str(data), "--format", "the-well", "-o", str(tmp_path / "x.h5"), "--bc", "x=spiral"]) == 2
    err = capsys.readouterr().err
    assert "boundary condition 'spiral' of axis 'x' has no counterpart in The Well" in err and err.count("\n") == 1
    assert main(["export", str(tmp_path / "nope.h5"), "--format", "pdebench", "-o", str(tmp_path / "x.h5")]) == 2
    assert "no dataset file" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()
