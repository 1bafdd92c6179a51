"""The client side stays light: importing it loads numpy and zmq, never torch."""

import subprocess
import sys

import pytest

from pdekit.streaming.client import ENVIRONMENT, StreamClient


def test_client_import_loads_no_torch():
    code = ("import sys\nfrom pdekit.streaming import StreamClient\nimport pdekit.streaming.client\n"
            "import pdekit.streaming.problem_client\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'h5py', 'scipy'))\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_environment_is_read_and_checked():
    env = {"PDEKIT_STREAM_ADDRESS": "tcp://127.0.0.1:5555", "PDEKIT_STREAM_RUN": "abc",
           "PDEKIT_STREAM_GENERATION": "2", "PDEKIT_STREAM_SIMULATION": "7", "PDEKIT_STREAM_DRAW": "1",
           "PDEKIT_STREAM_ATTEMPT": "3", "PDEKIT_STREAM_PARAMETERS": '{"alpha": 1.25}',
           "PDEKIT_STREAM_STEPS": "40"}
    c = StreamClient(environ=env)
    assert (c.simulation, c.draw, c.attempt, c.generation, c.steps) == (7, 1, 3, 2, 40)
    assert c.parameters == {"alpha": 1.25} and c.address == "tcp://127.0.0.1:5555"
    assert set(env) <= set(ENVIRONMENT)
    with pytest.raises(ValueError, match="PDEKIT_STREAM_ATTEMPT must be an integer; got 'x'"):
        StreamClient(environ=dict(env, PDEKIT_STREAM_ATTEMPT="x"))
    with pytest.raises(ValueError, match="PDEKIT_STREAM_PARAMETERS must be a JSON object"):
        StreamClient(environ=dict(env, PDEKIT_STREAM_PARAMETERS="{alpha"))
    with pytest.raises(RuntimeError, match="not open"):
        c.send(0, u=[1.0])
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        c.send(-1, u=[1.0])


def test_malformed_address_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot connect to 'nonsense'"):
        StreamClient("nonsense", run="r", generation=1, simulation=0, attempt=1).open()
