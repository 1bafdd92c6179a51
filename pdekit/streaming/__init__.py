"""Streaming ensemble training: simulations stream their time steps into training ranks.

Many simulations run at once with sampled parameters; each sends every time step over ZeroMQ
(:class:`StreamClient`, numpy and zmq only) straight to a training rank, which de-duplicates,
acknowledges and buffers it; the ranks train one surrogate together under ``torchrun`` +
DistributedDataParallel while the ensemble runs, with no training data written to disk.
``pdekit stream`` (or :func:`stream`) runs the whole thing; ``docs/streaming.md`` documents the
wire format, the environment of a client and the exactly-once rules.

Public names are imported on first use (:mod:`pdekit._lazy`), so importing the client loads
no torch.
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "StreamClient": "client",
    "StreamRejected": "client",
    "ENVIRONMENT": "client",
    "PROTOCOL": "wire",
    "FieldSpec": "wire",
    "Item": "buffers",
    "FIFOBuffer": "buffers",
    "FIROBuffer": "buffers",
    "ReservoirBuffer": "buffers",
    "make_buffer": "buffers",
    "Ledger": "ledger",
    "Assignment": "ledger",
    "trajectory_digest": "ledger",
    "Receiver": "receiver",
    "stream": "run",
    "StreamRun": "run",
    "StreamConfig": "config",
    "parse_parameter": "sampler",
    "ParameterSpace": "sampler",
    "StreamingTrainer": "trainer",
    "Coordinator": "coordinator",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
