"""The command line as a whole: ``python -m pdekit``, the top-level help, ``--debug`` anywhere,
and a fuzz of the argument space (any argv: exit 0 or 2, or a verb's documented code; one line
of error, never a traceback)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdekit.cli import build_parser, given_options, main


def test_python_dash_m_and_help_with_examples(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "pdekit", "--help"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0
    assert "pdekit demo" in done.stdout and "examples:" in done.stdout
    assert "pdekit train --model tfno --data darcy.h5" in done.stdout and "--debug" in done.stdout
    done = subprocess.run([sys.executable, "-m", "pdekit", "info", "missing.h5"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr == "pdekit info: error: no dataset file 'missing.h5'\n"


@pytest.mark.parametrize("argv", [["--debug", "info", "missing.h5"], ["info", "missing.h5", "--debug"],
                                  ["--debug", "evaluate", "m.pt", "d.h5"], ["train", "--model", "fno",
                                  "--data", "missing.h5", "--out", "r", "--debug"]])
def test_debug_before_or_after_the_verb_shows_the_traceback(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises((FileNotFoundError, ValueError)):
        main(argv)
    rest = [a for a in argv if a != "--debug"]
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(rest) == 2
    assert err.getvalue().count("\n") == 1


def test_every_verb_accepts_debug():
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for verb, p in sub.choices.items():
        assert "--debug" in p._option_string_actions, verb


def test_given_options_tells_typed_options_from_defaults():
    parser, _ = build_parser()
    argv = ["train", "--model", "fno", "--data", "d.h5", "--out", "r", "--lr", "0.001"]
    args = parser.parse_args(argv)
    args.argv = argv
    assert {"model", "data", "out", "lr"} <= given_options(args)
    assert "epochs" not in given_options(args) and "seed" not in given_options(args)


# ------------------------------------------------------------------ fuzz

#: verbs fuzzed (``demo`` runs minutes on valid options: it is tested in test_cli.py)
_VERBS = ("generate", "info", "train", "evaluate", "solve")
#: documented exit codes besides 0 and 2
_CODES = {"solve": {3}}


def _option_strings(verb: str) -> list[str]:
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(s for a in sub.choices[verb]._actions for s in a.option_strings
                  if s not in ("--debug",))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Files a user might point pdekit at by mistake: none holds valid data, so no verb
    can start long work whatever the options."""
    d = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    (d / "garbage.h5").write_bytes(rng.bytes(300))
    (d / "hdf5-header.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + rng.bytes(200))
    (d / "empty.npz").write_bytes(b"")
    np.savez(d / "wrong.npz", a=np.arange(3))
    (d / "model.pt").write_bytes(rng.bytes(100))
    (d / "folder").mkdir()
    return [str(d / n) for n in ("garbage.h5", "hdf5-header.h5", "empty.npz", "wrong.npz", "model.pt",
                                 "folder", "missing.h5", "x" * 300)]


_VALUES = st.sampled_from(["0", "-1", "1", "3", "1e309", "nan", "-inf", "0.5", "abc", "", "-", "--",
                           "cpu", "meta", "foo", "cuda:7", "fno", "tfno", "test", "all", "amg", "cg",
                           "12,12", "\u00e9\u00e8", "\x00"]) | st.text(max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_argv_is_exit_0_or_2_and_never_a_traceback(data, corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    verb = data.draw(st.sampled_from(_VERBS))
    files = st.sampled_from(corpus)
    pool = st.sampled_from(_option_strings(verb)) | files | _VALUES
    # half the cases carry what the verb requires, so the verb's own checks run, not argparse's
    head = {"train": ["--model", data.draw(st.sampled_from(["fno", "tfno", "mgtfno"])), "--data",
                      data.draw(files), "--out", data.draw(files | st.just("run"))],
            "evaluate": [data.draw(files), data.draw(files)], "solve": [data.draw(files)],
            "info": [data.draw(files)], "generate": []}[verb] if data.draw(st.booleans()) else []
    argv = [verb, *head, *data.draw(st.lists(pool, max_size=6))]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
            from_argparse = False
        except SystemExit as exc:  # argparse: usage + one error line (2), or --help (0)
            code, from_argparse = exc.code, True
    text = err.getvalue()
    assert code in {0, 2} | _CODES.get(verb, set()), (argv, code, text)
    assert "Traceback" not in text, (argv, text)
    if code == 2 and not from_argparse:
        assert text.count("\n") == 1 and text.startswith(f"pdekit {verb}: error: "), (argv, text)
