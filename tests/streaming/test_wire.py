"""Wire format: round trips of any dtype and shape, and clear errors for malformed messages."""

import json

import numpy as np
import pytest

from pdekit.streaming.wire import (PROTOCOL, FieldSpec, ProtocolError, decode, decode_fields, encode,
                                   encode_step, field_specs, step_nbytes)

IDS = {"run": "r1", "generation": 1, "simulation": 3, "draw": 0, "attempt": 2}


@pytest.mark.parametrize("dtype", ["<f4", ">f8", "<i2", "|u1", "|b1", "<c16"])
def test_step_round_trip_any_dtype_and_shape(dtype):
    rng = np.random.default_rng(0)
    u = (rng.standard_normal((5, 3)) * 10).astype(dtype)
    v = np.arange(7, dtype=np.int64)[::2]  # not contiguous: sent contiguous
    specs, arrays = field_specs({"u": u, "v": v, "s": np.float32(2.5)})
    frames = encode_step(IDS, 4, 17, specs, arrays)
    kind, header, buffers = decode([bytes(f) for f in frames])
    assert kind == b"STEP" and header["step"] == 17 and header["seq"] == 4 and header["attempt"] == 2
    got_specs, got = decode_fields(header, buffers)
    assert got_specs == specs
    np.testing.assert_array_equal(got["u"], u)
    assert got["u"].dtype == np.dtype(dtype) and got["u"].shape == (5, 3)
    np.testing.assert_array_equal(got["v"], [0, 2, 4, 6])
    assert got["s"].shape == () and got["s"] == np.float32(2.5)
    assert not got["u"].flags.writeable
    assert step_nbytes(specs) == u.nbytes + 4 * 8 + 4


def test_header_is_plain_json_a_c_code_can_write():
    frames = encode_step(IDS, 0, 0, *field_specs({"u": np.zeros((2, 2), "<f8")}))
    assert frames[0] == PROTOCOL == b"pdekit-stream/1"
    header = json.loads(frames[2])
    assert header["fields"] == [{"name": "u", "dtype": "<f8", "shape": [2, 2]}]
    assert bytes(frames[3]) == bytes(32)


def test_other_protocol_version_is_named():
    frames = encode(b"HELLO", IDS)
    frames[0] = b"pdekit-stream/2"
    with pytest.raises(ProtocolError, match="'pdekit-stream/2' is not supported.*'pdekit-stream/1'"):
        decode(frames)


@pytest.mark.parametrize("frames, match", [
    ([PROTOCOL, b"STEP"], "at least 3 frames"),
    ([PROTOCOL, b"NOPE", b"{}"], "unknown message kind"),
    ([PROTOCOL, b"STEP", b"[1, 2]"], "must be a JSON object"),
    ([PROTOCOL, b"STEP", b"\xff{"], "not UTF-8 JSON"),
])
def test_malformed_messages(frames, match):
    with pytest.raises(ProtocolError, match=match):
        decode(frames)


def test_field_buffer_size_must_match():
    header = {"fields": [{"name": "u", "dtype": "<f4", "shape": [4]}]}
    with pytest.raises(ProtocolError, match="12 bytes received, 16 expected"):
        decode_fields(header, [bytes(12)])
    with pytest.raises(ProtocolError, match="not a numpy dtype"):
        decode_fields({"fields": [{"name": "u", "dtype": "zz", "shape": [1]}]}, [b"x"])
    with pytest.raises(ProtocolError, match="distinct"):
        decode_fields({"fields": [{"name": "u", "dtype": "|u1", "shape": [1]}] * 2}, [b"x", b"y"])


def test_bad_fields_on_the_sending_side():
    with pytest.raises(ValueError, match="at least one named field"):
        field_specs({})
    with pytest.raises(TypeError, match="numeric numpy array"):
        field_specs({"u": np.array(["a", "b"])})
    assert FieldSpec("u", "<f4", (64, 64)).nbytes == 16384
