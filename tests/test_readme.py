"""The README works as pasted: every Python block runs on its own (imports included) in a fresh
interpreter in an empty folder, and every ``pdekit`` command line in it parses."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)


def _blocks(kind: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        lang = m.group(1).strip()
        if (lang == "python") == (kind == "python"):
            out.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    return out


PYTHON_BLOCKS = _blocks("python")


def test_the_readme_has_python_blocks():
    assert len(PYTHON_BLOCKS) >= 6


@pytest.mark.parametrize("line, code", PYTHON_BLOCKS, ids=[f"line{n}" for n, _ in PYTHON_BLOCKS])
def test_python_block_runs_as_pasted(line, code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code)
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONPATH=str(README.parent))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"README block at line {line} failed:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr


def _command_lines() -> list[tuple[int, list[str]]]:
    """``pdekit ...`` lines of the shell blocks (and the pdekit part of ``torchrun -m pdekit ...``),
    and inline ``pdekit ...`` code in the prose (line 0)."""
    out = []
    for start, code in _blocks("shell"):
        joined = re.sub(r"\\\n\s*", " ", code)  # line continuations
        for k, raw in enumerate(joined.splitlines()):
            words = shlex.split(raw, comments=True)
            if "pdekit" not in words:
                continue
            i = words.index("pdekit")
            if i > 0 and words[i - 1] not in ("-m", "srun") and not words[0].endswith("pdekit"):
                continue  # e.g. "cd pdekit"
            out.append((start + k, words[i + 1:]))
    text = README.read_text(encoding="utf-8")
    for m in re.finditer(r"(?<!`)`(pdekit [^`]+)`(?!`)", _FENCE.sub("", text)):
        argv = shlex.split(m.group(1))[1:]
        if len(argv) >= 2:  # a command line, not a mention such as `pdekit evaluate`
            out.append((0, argv))
    return out


COMMANDS = _command_lines()


def test_the_readme_has_command_lines():
    verbs = {argv[0] for _, argv in COMMANDS if argv}
    assert {"generate", "info", "train", "evaluate", "solve"} <= verbs


@pytest.mark.parametrize("line, argv", COMMANDS, ids=[f"line{n}-{' '.join(a)[:30]}" for n, a in COMMANDS])
def test_command_line_parses(line, argv):
    from pdekit.cli import build_parser

    parser, _ = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version exit 0; anything else is a stale option
        assert exc.code == 0, f"README line {line}: pdekit {' '.join(argv)}"
        return
    assert args.command is not None


def test_license_matches_pyproject():
    root = README.parent
    text = (root / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "Neither the name of the copyright holder" in text
    assert 'license = { text = "BSD-3-Clause" }' in (root / "pyproject.toml").read_text()
