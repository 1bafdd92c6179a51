"""Settings: memory sizes, TOML files, validation of every key, resume compatibility."""

import pytest

from pdekit.streaming.config import StreamConfig, load_toml, parse_memory


@pytest.mark.parametrize("text, value", [("2GB", 2 * 10**9), ("512MiB", 512 * 2**20), ("1.5e3", 1500),
                                         (" 64 kb ", 64000), (4096, 4096)])
def test_parse_memory(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["two GB", "5XB", "-1", "0", ""])
def test_parse_memory_errors(text):
    with pytest.raises(ValueError, match="--memory"):
        parse_memory(text)


def base(**kw):
    d = dict(out="run", simulations=3, steps=4, command="true")
    d.update(kw)
    return d


@pytest.mark.parametrize("kw, match", [
    ({"command": None}, "either --pde NAME .* or --command"),
    ({"pde": "heat"}, "not both or neither"),
    ({"simulations": 0}, "--simulations must be a positive integer"),
    ({"buffer": "lifo"}, "unknown --buffer 'lifo'"),
    ({"target": "parameters"}, "give at least one --parameter"),
    ({"steps": 1}, "--steps must be >= 2"),
    ({"timeout": -3}, "--timeout must be a positive"),
    ({"parameters": ["alpha=2:1"]}, "LOW <= HIGH"),
    ({"parameters": ["alpha:1"]}, "does not parse"),
    ({"colour": "red"}, "unknown setting"),
    ({"command": "no_such_program_xyz --flag"}, "'no_such_program_xyz' .* was not found"),
])
def test_validation(kw, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        StreamConfig.from_mapping(base(**kw))


def test_pde_settings_are_checked_before_anything_runs():
    with pytest.raises(ValueError, match="has no time steps to stream"):
        StreamConfig.from_mapping(base(command=None, pde="darcy", resolution=16))
    with pytest.raises(ValueError, match="problem 'heat' has no parameter 'nu'"):
        StreamConfig.from_mapping(base(command=None, pde="heat", resolution=16, parameters=["nu=1:2"]))
    with pytest.raises(ValueError, match="smaller than one training sample"):
        StreamConfig.from_mapping(base(command=None, pde="heat", resolution=64, memory="64kB"))
    cfg = StreamConfig.from_mapping(base(command=None, pde="heat", resolution=16, parameters=["kappa=0.01:0.02"]))
    assert cfg.parameter_space().draw(0)["kappa"] >= 0.01 and "seed" in cfg.parameter_space().draw(0)


def test_toml_and_difference(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('out = "r"\nsimulations = 5\nsteps = 3\ncommand = "true"\nbatch-size = 8\n'
                    'parameters = ["alpha=0.5:2.0"]\nmemory = "1GB"\n')
    values = load_toml(path)
    cfg = StreamConfig.from_mapping(values)
    assert (cfg.batch_size, cfg.memory, cfg.parameters) == (8, 10**9, {"alpha": [0.5, 2.0]})
    other = StreamConfig.from_mapping(dict(values, simulations=6, clients=9))
    assert other.difference(cfg) == ["simulations (5 before, 6 now)"]  # clients is operational
    (tmp_path / "bad.toml").write_text("out = [")
    with pytest.raises(ValueError, match="is not valid TOML"):
        load_toml(tmp_path / "bad.toml")
    with pytest.raises(FileNotFoundError):
        load_toml(tmp_path / "none.toml")
