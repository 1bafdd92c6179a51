"""The ``progress=`` option: None/False, True, a tqdm bar, a tqdm class, a Progress object."""

import functools
import io

import numpy as np
import pytest
from tqdm import tqdm

from pdekit._progress import NullProgress, TqdmAdapter, TqdmProgress, as_progress


def test_none_false_true():
    assert isinstance(as_progress(None), NullProgress)
    assert isinstance(as_progress(False), NullProgress)
    assert isinstance(as_progress(True), TqdmProgress)


def test_protocol_object_is_used_as_is():
    class Mine:
        def start(self, total, desc=""): ...
        def update(self, n=1, **postfix): ...
        def close(self): ...

    mine = Mine()
    assert as_progress(mine) is mine


def test_tqdm_bar_is_reset_advanced_and_left_open():
    buf = io.StringIO()
    bar = tqdm(file=buf, total=3, desc="old")
    p = as_progress(bar)
    assert isinstance(p, TqdmAdapter)
    p.start(10, "samples")
    p.update(3, loss="0.5")
    p.update()
    p.close()
    assert bar.n == 4 and bar.total == 10 and bar.desc.startswith("samples")
    assert not bar.disable  # still open: the caller closes it
    p.start(5, "again")      # one bar can follow a second call
    p.update(5)
    assert bar.n == 5 and bar.total == 5
    bar.close()
    assert "samples" in buf.getvalue()


def test_tqdm_class_is_a_factory_closed_at_the_end():
    buf = io.StringIO()
    made = []

    def factory(**kw):
        made.append(tqdm(file=buf, **kw))
        return made[-1]

    for prog in (factory, functools.partial(tqdm, file=buf)):
        p = as_progress(prog)
        p.start(7, "steps")
        p.update(7)
        p.close()
    assert len(made) == 1 and made[0].n == 7 and made[0].total == 7
    assert made[0].disable  # tqdm marks a closed bar disabled
    assert "steps" in buf.getvalue() and "7/7" in buf.getvalue()
    assert isinstance(as_progress(tqdm), TqdmAdapter)


@pytest.mark.parametrize("bad", ["yes", 3, object(), [1]])
def test_bad_progress_is_a_type_error(bad):
    with pytest.raises(TypeError, match="progress must have start.*tqdm"):
        as_progress(bad)


def test_long_calls_take_progress_true_or_a_bar(capsys):
    from pdekit.solvers.fd import navier_stokes

    buf = io.StringIO()
    bar = tqdm(file=buf)
    navier_stokes(np.zeros((8, 8)), 1e-3, 0.005, dt=1e-3, progress=bar)
    assert bar.n == 5 and bar.total == 5
    bar.close()
    navier_stokes(np.zeros((8, 8)), 1e-3, 0.003, dt=1e-3, progress=True)
    assert "3/3" in capsys.readouterr().err
