"""The wire format between a simulation (client) and a training rank: versioned multipart messages.

Every message is a ZeroMQ multipart message whose frames are::

    frame 0   protocol     b"pdekit-stream/1"      (name and version, ASCII)
    frame 1   kind         b"STEP", b"HELLO", ...  (ASCII)
    frame 2   header       a UTF-8 JSON object
    frame 3+  buffers      STEP only: one frame per field, the raw bytes in C order

A client talks through a DEALER socket to the rank's ROUTER socket (ZeroMQ adds and strips
the routing frame on the rank's side). The header of a STEP names its fields in frame order::

    {"run": "6f1c...", "generation": 1, "simulation": 12, "draw": 0, "attempt": 2, "seq": 57,
     "step": 41, "fields": [{"name": "u", "dtype": "<f4", "shape": [64, 64]}]}

``dtype`` is numpy's ``dtype.str`` (byte order, kind, item size: ``"<f8"``, ``"<i4"``, ``"|u1"``),
so a C or Fortran code writes ``"<f8"`` for a little-endian ``double`` array. The full protocol
(kinds, replies, credit and acknowledgement rules) is in ``docs/streaming.md``.

This module imports numpy only (no torch, no zmq): it is the client's side as much as the
rank's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["PROTOCOL", "CLIENT_KINDS", "SERVER_KINDS", "FieldSpec", "ProtocolError", "StepEncoder",
           "encode", "decode", "encode_step", "field_specs", "decode_fields", "step_nbytes"]

#: frame 0 of every message: protocol name and version
PROTOCOL = b"pdekit-stream/1"

#: what a client sends: HELLO (open a session), STEP (one time step), HEARTBEAT (alive),
#: WANT (ask for credit for a message of "need" bytes), FINISHED (all steps sent), ABORT
CLIENT_KINDS = (b"HELLO", b"STEP", b"HEARTBEAT", b"WANT", b"FINISHED", b"ABORT")
#: what a rank answers: WELCOME (session open + first credit), CREDIT (acknowledgement +
#: credit limit), HEARTBEAT, DONE (FINISHED accepted), REJECT (fenced or invalid; fatal)
SERVER_KINDS = (b"WELCOME", b"CREDIT", b"HEARTBEAT", b"DONE", b"REJECT")


class ProtocolError(ValueError):
    """A message that does not follow the wire format (its reason is in the message)."""


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """Name, dtype and shape of one field of a time step (the schema of the run is a tuple of them)."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @functools.cached_property
    def nbytes(self) -> int:
        return np.dtype(self.dtype).itemsize * math.prod(self.shape)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype} {tuple(self.shape)}"


def encode(kind: bytes, header: Mapping[str, Any], buffers: Sequence[Any] = ()) -> list:
    """Frames of one message (protocol, kind, JSON header, raw buffers)."""
    return [PROTOCOL, kind, json.dumps(header, separators=(",", ":")).encode(), *buffers]


def decode(frames: Sequence[Any], *, kinds: Sequence[bytes] = CLIENT_KINDS
           ) -> tuple[bytes, dict[str, Any], list]:
    """``(kind, header, buffers)`` of a received message.

    ``frames`` may be bytes or zmq Frames (anything with the buffer protocol).

    Raises
    ------
    ProtocolError
        Too few frames, another protocol or version, an unknown kind, or a header that is
        not a JSON object. The message says which.
    """
    if len(frames) < 3:
        raise ProtocolError(f"a message needs at least 3 frames (protocol, kind, header); got {len(frames)}")
    proto = bytes(frames[0])
    if proto != PROTOCOL:
        shown = proto[:40].decode("ascii", "replace")
        raise ProtocolError(f"protocol {shown!r} is not supported; this side speaks "
                            f"{PROTOCOL.decode()!r}")
    kind = bytes(frames[1])
    if kind not in kinds:
        raise ProtocolError(f"unknown message kind {kind[:20]!r}; expected one of "
                            f"{[k.decode() for k in kinds]}")
    try:
        header = json.loads(bytes(frames[2]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"the {kind.decode()} header is not UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"the {kind.decode()} header must be a JSON object; got {type(header).__name__}")
    return kind, header, list(frames[3:])


def _as_field(name: str, value: Any) -> np.ndarray:
    if not isinstance(name, str) or not name:
        raise TypeError(f"field names must be non-empty strings; got {name!r}")
    arr = np.asarray(value)
    if arr.dtype.hasobject or arr.dtype.fields is not None or arr.dtype.kind in "UMmV":
        raise TypeError(f"field {name!r} must be a numeric numpy array (bool, int, uint, float, "
                        f"complex); got dtype {arr.dtype}")
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def field_specs(fields: Mapping[str, Any]) -> tuple[tuple[FieldSpec, ...], list[np.ndarray]]:
    """The specs and C-contiguous arrays of named fields, in the order given."""
    if not fields:
        raise ValueError("send at least one named field, e.g. client.send(step, u=u)")
    arrays = [_as_field(n, v) for n, v in fields.items()]
    specs = _field_specs(tuple((n, a.dtype.str, a.shape) for n, a in zip(fields, arrays)))
    return specs, arrays


@functools.lru_cache(maxsize=64)
def _field_specs(key: tuple) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(n, d, tuple(int(s) for s in shape)) for n, d, shape in key)


def encode_step(ids: Mapping[str, Any], seq: int, step: int, specs: Sequence[FieldSpec],
                arrays: Sequence[np.ndarray]) -> list:
    """Frames of a STEP message (``ids``: run, generation, simulation, draw, attempt)."""
    head, tail = _step_template(tuple(ids.items()), tuple(specs))
    header = b"%s%d,\"step\":%d%s" % (head, int(seq), int(step), tail)
    return [PROTOCOL, b"STEP", header, *(memoryview(a).cast("B") if a.size else b"" for a in arrays)]


@functools.lru_cache(maxsize=16)
def _step_template(ids: tuple, specs: tuple) -> tuple[bytes, bytes]:
    """The constant parts of a STEP header around its seq and step (encoded once per session)."""
    head = json.dumps(dict(ids), separators=(",", ":"))[:-1] + ',"seq":'
    tail = ',"fields":' + json.dumps([s.as_json() for s in specs], separators=(",", ":")) + "}"
    return head.encode(), tail.encode()


class StepEncoder:
    """STEP frames of one session (fixed ids), with the header's constant parts encoded once per
    set of field names, dtypes and shapes (a solver sends the same fields every step)."""

    def __init__(self, ids: Mapping[str, Any]) -> None:
        self.ids = tuple(ids.items())
        self._formats: dict[tuple, tuple[bytes, bytes, int]] = {}

    def frames(self, seq: int, step: int, fields: Mapping[str, Any]) -> tuple[list, int]:
        """``(frames, payload bytes)`` of one STEP."""
        arrays = [v if type(v) is np.ndarray and v.flags.c_contiguous else _as_field(n, v)
                  for n, v in fields.items()]
        key = tuple((n, a.dtype, a.shape) for n, a in zip(fields, arrays))
        fmt = self._formats.get(key)
        if fmt is None:
            if not fields:
                raise ValueError("send at least one named field, e.g. client.send(step, u=u)")
            for n, a in zip(fields, arrays):
                _as_field(n, a)  # names and dtypes are checked once per format
            specs = _field_specs(tuple((n, a.dtype.str, a.shape) for n, a in zip(fields, arrays)))
            fmt = self._formats[key] = (*_step_template(self.ids, specs), step_nbytes(specs))
        head, tail, nbytes = fmt
        header = b"%s%d,\"step\":%d%s" % (head, seq, step, tail)
        return [PROTOCOL, b"STEP", header, *arrays], nbytes


def _spec(entry: Any) -> FieldSpec:
    if not isinstance(entry, dict) or not {"name", "dtype", "shape"} <= set(entry):
        raise ProtocolError(f"each field must be described by {{name, dtype, shape}}; got {entry!r:.80}")
    name, dtype, shape = entry["name"], entry["dtype"], entry["shape"]
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"a field name must be a non-empty string; got {name!r:.40}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ProtocolError(f"field {name!r}: dtype {dtype!r:.20} is not a numpy dtype string "
                            f"such as '<f8'") from None
    if dt.hasobject or dt.fields is not None or dt.kind in "UMmV":
        raise ProtocolError(f"field {name!r}: dtype {dtype!r} is not numeric")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ProtocolError(f"field {name!r}: shape must be a list of non-negative integers; got {shape!r:.40}")
    return FieldSpec(name, dt.str, tuple(shape))


_LAST: list = [(None, None)]  # (the last field descriptions decoded, their specs): read and set as one


@functools.lru_cache(maxsize=64)
def _specs(key: tuple) -> tuple[tuple[FieldSpec, ...], tuple[np.dtype, ...], tuple[int, ...]]:
    """Parsed and checked field descriptions (a run repeats the same ones in every STEP)."""
    specs = tuple(_spec({"name": n, "dtype": d, "shape": list(s) if isinstance(s, tuple) else s})
                  for n, d, s in key)
    if len({s.name for s in specs}) != len(specs):
        raise ProtocolError(f"field names must be distinct; got {[s.name for s in specs]}")
    return specs, tuple(np.dtype(s.dtype) for s in specs), tuple(s.nbytes for s in specs)


def _key(entry: Any) -> tuple:
    if not isinstance(entry, dict):
        raise ProtocolError(f"each field must be described by {{name, dtype, shape}}; got {entry!r:.80}")
    shape = entry.get("shape")
    return (entry.get("name"), entry.get("dtype"), tuple(shape) if isinstance(shape, list) else shape)


def decode_fields(header: Mapping[str, Any], buffers: Sequence[Any]
                  ) -> tuple[tuple[FieldSpec, ...], dict[str, np.ndarray]]:
    """The field specs and read-only arrays (views on ``buffers``, no copy) of a STEP.

    Raises
    ------
    ProtocolError
        Missing or malformed field descriptions, duplicate names, or a buffer whose size
        does not match its dtype and shape.
    """
    entries = header.get("fields")
    last_entries, last_specs = _LAST[0]  # one read: receivers of other ranks may share this process
    if last_specs is not None and entries == last_entries:  # a run repeats its fields in every STEP
        specs, dtypes, sizes = last_specs
    else:
        if not isinstance(entries, list) or not entries:
            raise ProtocolError("a STEP header needs a non-empty list 'fields' of {name, dtype, shape}")
        try:
            specs, dtypes, sizes = _specs(tuple(_key(e) for e in entries))
        except TypeError:  # unhashable junk in the description
            raise ProtocolError(f"malformed field descriptions {entries!r:.120}") from None
        _LAST[0] = (entries, (specs, dtypes, sizes))
    if len(buffers) != len(specs):
        raise ProtocolError(f"the header describes {len(specs)} fields but {len(buffers)} buffers follow")
    arrays = {}
    for spec, dtype, size, buf in zip(specs, dtypes, sizes, buffers):
        view = memoryview(buf)
        if view.nbytes != size:
            raise ProtocolError(f"field {spec.name!r}: {view.nbytes} bytes received, {size} "
                                f"expected for {spec.dtype} {tuple(spec.shape)}")
        arr = np.frombuffer(view, dtype=dtype).reshape(spec.shape)
        arr.flags.writeable = False
        arrays[spec.name] = arr
    return specs, arrays


def step_nbytes(specs: Sequence[FieldSpec]) -> int:
    """Bytes of the raw buffers of one time step (what credit is counted in)."""
    return sum(s.nbytes for s in specs)
