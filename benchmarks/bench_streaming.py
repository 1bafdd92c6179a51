"""Streaming ensemble training: transport, throughput and accuracy, side by side in one run.

Three comparisons, all on this machine, in this run:

1. **Transport** (one client process -> one rank's receiver on loopback, 64x64 float32 fields):
   pdekit's stream (ZeroMQ, credit, acknowledgements, de-duplication, CRC) against the plain-TCP
   ceiling (stdlib sockets, length-prefixed messages, copied into numpy arrays). Target:
   >= 10,000 fields/s.
2. **Throughput** of the same model on the same heat-equation ensemble (pdekit's ``heat``
   problem, GRF initial states, autoregressive t -> t+1 pairs):
   * *in-memory*: the ensemble computed into tensors first; batches drawn from memory (the
     ceiling);
   * *offline*: ``pdekit generate heat`` to HDF5 (timed), then a DataLoader over the file with
     h5py;
   * *online*: ``pdekit stream`` (one rank; the solvers run while it trains); samples/s after
     the watermark and the fraction of that time the trainer waited on its buffer.
   Target: online >= 0.9x the in-memory ceiling, blocked < 5%.
3. **Accuracy at equal wall time** (generation included): the offline model trains for the wall
   time of the online run minus its generation time, and both are scored (relative L2 of one
   step) on the same held-out validation trajectories. Target: online <= offline.

Threads are fixed (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``) in every process. The
record says, for each ratio, whether the run was compute- or I/O-bound, and the machine load.
Run with the benchmark environment (it has no pdekit; PYTHONPATH points at the checkout)::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 /work/bench-venv/bin/python benchmarks/bench_streaming.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _record import write_record  # noqa: E402

TARGETS = {"transport_fields_per_s": 10_000, "online_over_memory": 0.9, "blocked_fraction": 0.05}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (minutes)")
    p.add_argument("--fields", type=int, default=30_000, help="fields per transport repetition")
    p.add_argument("--reps", type=int, default=3, help="transport repetitions (median)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--simulations", type=int, default=24)
    p.add_argument("--steps", type=int, default=40, help="stored frames per simulation")
    p.add_argument("--validation", type=int, default=4)
    p.add_argument("--clients", type=int, default=1, help="solver processes at once (online)")
    p.add_argument("--modes", type=int, default=12)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--output", default=str(HERE / "results" / "bench_streaming.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.fields, args.reps = 8000, 3
        args.resolution, args.simulations, args.steps, args.validation = 32, 8, 20, 2
        args.modes, args.width, args.layers, args.batch = 8, 16, 2, 8
    return args


# ---------------------------------------------------------------------------------------------
# 1. transport
# ---------------------------------------------------------------------------------------------
_TCP_SENDER = """
import socket, struct, sys, numpy as np
port, n = int(sys.argv[1]), int(sys.argv[2])
u = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32).tobytes()
s = socket.create_connection(("127.0.0.1", port))
head = struct.pack("<Q", len(u))
for _ in range(n):
    s.sendall(head + u)
s.close()
"""


def tcp_ceiling(n: int) -> float:
    """Fields/s of plain length-prefixed TCP from a child process, copied into numpy arrays."""
    import numpy as np

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    child = subprocess.Popen([sys.executable, "-c", _TCP_SENDER, str(srv.getsockname()[1]), str(n)])
    conn, _ = srv.accept()
    buf = bytearray(8 + 64 * 64 * 4)
    view = memoryview(buf)
    t0 = None
    for _ in range(n):
        got = 0
        while got < len(buf):
            k = conn.recv_into(view[got:], len(buf) - got)
            if k == 0:
                raise RuntimeError("the sender stopped early")
            got += k
        if t0 is None:
            t0 = time.perf_counter()
        np.frombuffer(buf, dtype=np.float32, offset=8).copy()
    t1 = time.perf_counter()
    child.wait()
    conn.close()
    srv.close()
    return (n - 1) / (t1 - t0)


_STREAM_SENDER = """
import sys, numpy as np
from pdekit.streaming import StreamClient
address, n = sys.argv[1], int(sys.argv[2])
u = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
with StreamClient(address, run="bench", generation=1, simulation=0, attempt=1) as c:
    for k in range(n):
        c.send(k, u=u)
"""


class _Control:
    """The coordinator's end of the control channel, reduced to one assignment."""

    def __init__(self):
        import zmq

        from pdekit.streaming import control

        self.control, self.zmq = control, zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"tcp://127.0.0.1:{port}"

    def expect(self, kind):
        while True:
            ident, k, body = self.sock.recv_multipart()
            if k == kind:
                return ident

    def send(self, ident, kind, body):
        self.sock.send_multipart([ident, *self.control.pack(kind, body)])

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def stream_transport(n: int) -> float:
    """Fields/s accepted by one rank's receiver from one client process (buffer drained)."""
    from pdekit.streaming.buffers import FIFOBuffer
    from pdekit.streaming.receiver import Receiver
    from pdekit.streaming.targets import ParameterTarget

    ctl = _Control()
    budget = 256 << 20
    rec = Receiver(run="bench", steps=n, budget=budget, buffer=FIFOBuffer(budget),
                   target=ParameterTarget(steps=n, parameter_names=["a"]), control_address=ctl.address)
    rec.start()
    ident = ctl.expect(b"REGISTER")
    ctl.send(ident, b"WELCOME", {"generation": 1})
    ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [64, 64]}]})
    ctl.send(ident, b"ASSIGN", {"assignment": {"simulation": 0, "draw": 0, "attempt": 1, "role": "train",
                                               "parameters": {"a": 0.0}}})
    ctl.expect(b"ASSIGNED")
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            if not rec.take(256):
                time.sleep(0.0005)

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    child = subprocess.Popen([sys.executable, "-c", _STREAM_SENDER, rec.address, str(n)])
    while rec.counters["steps_accepted"] == 0:
        time.sleep(0.0002)
    t0, first = time.perf_counter(), rec.counters["steps_accepted"]
    while rec.counters["steps_accepted"] < n:
        time.sleep(0.0005)
    t1 = time.perf_counter()
    child.wait()
    stop.set()
    drainer.join()
    rec.stop()
    ctl.close()
    return (n - first) / (t1 - t0)


def transport(args) -> dict:
    tcp, zmq_rates = [], []
    for _ in range(args.reps):  # interleaved, so the machine's load hits both alike
        tcp.append(tcp_ceiling(args.fields))
        zmq_rates.append(stream_transport(args.fields))
    ceiling, ours = statistics.median(tcp), statistics.median(zmq_rates)
    return {"fields": args.fields, "reps": args.reps, "tcp_ceiling_fields_per_s": ceiling,
            "stream_fields_per_s": ours, "stream_over_tcp": ours / ceiling,
            "stream_MB_per_s": ours * 64 * 64 * 4 / 1e6, "target_fields_per_s": TARGETS["transport_fields_per_s"],
            "meets_target": ours >= TARGETS["transport_fields_per_s"], "all_tcp": tcp, "all_stream": zmq_rates}


# ---------------------------------------------------------------------------------------------
# 2. and 3. training: in memory, offline (HDF5), online (pdekit stream)
# ---------------------------------------------------------------------------------------------
def _model(args, torch):
    from pdekit.operators.normalizers import UnitGaussianNormalizer
    from pdekit.training.models import build_model
    from pdekit.training.normalization import NormalizedOperator

    torch.manual_seed(0)
    net = build_model("fno", in_channels=1, out_channels=1, n_dim=2, modes=args.modes, width=args.width,
                      layers=args.layers)
    return NormalizedOperator(net, UnitGaussianNormalizer(1), UnitGaussianNormalizer(1))


def _pairs(trajectories, torch):
    """(x, y) float32 tensors of consecutive frames: trajectories (n, T, s, s)."""
    t = torch.as_tensor(trajectories, dtype=torch.float32)
    return t[:, :-1].reshape(-1, 1, *t.shape[2:]), t[:, 1:].reshape(-1, 1, *t.shape[2:])


def _validation(report, args, np):
    from pdekit.streaming.problem_client import simulate

    out = []
    for sim in report["validation_simulations"]:
        frames = []
        simulate("heat", args.resolution, args.steps, sim["parameters"], lambda k, f: frames.append(f["u"]))
        out.append(np.stack(frames))
    return np.stack(out)


def _score(model, val, torch):
    from pdekit.training.metrics import relative_l2_per_sample

    x, y = _pairs(val, torch)
    with torch.no_grad():
        return float(relative_l2_per_sample(model(x), y).mean())


def _fit_norms(model, x, y):
    model.in_normalizer.fit(x)
    model.out_normalizer.fit(y)


def _train(model, batches, *, seconds=None, steps=None, torch):
    """Train until ``steps`` steps or ``seconds`` elapsed; return (steps, samples, seconds)."""
    from pdekit.training.trainer import Trainer

    trainer = Trainer(model, lr=1e-3, distributed=False, device="cpu")
    n = samples = 0
    t0 = time.perf_counter()
    for x, y in batches:
        if (steps is not None and n >= steps) or (seconds is not None and time.perf_counter() - t0 >= seconds):
            break
        trainer.train_step((x, y))
        n += 1
        samples += len(x)
    return n, samples, time.perf_counter() - t0


def _memory_batches(x, y, batch, torch):
    g = torch.Generator().manual_seed(0)
    while True:
        idx = torch.randint(len(x), (batch,), generator=g)
        yield x[idx], y[idx]


class _H5Pairs:
    """Consecutive frames (t, t+1) of a pdekit dataset file, read with h5py per item."""

    def __init__(self, path, steps):
        self.path, self.steps, self.f = path, steps, None
        import h5py

        with h5py.File(path, "r") as f:
            self.n = f["outputs"].shape[0]

    def __len__(self):
        return self.n * (self.steps - 1)

    def __getitem__(self, i):
        import h5py
        import torch

        if self.f is None:
            self.f = h5py.File(self.path, "r")
        s, k = divmod(i, self.steps - 1)
        pair = self.f["outputs"][s, k:k + 2, ..., 0]
        return torch.as_tensor(pair[0:1], dtype=torch.float32), torch.as_tensor(pair[1:2], dtype=torch.float32)


def _loader_batches(dataset, batch, torch):
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))
    while True:
        yield from loader


def training(args, work: Path) -> dict:
    import numpy as np
    import torch

    from pdekit.streaming.problem_client import simulate
    from pdekit.streaming.run import stream
    from pdekit.streaming.sampler import ParameterSpace

    torch.set_num_threads(1)
    out: dict = {"resolution": args.resolution, "simulations": args.simulations, "steps": args.steps,
                 "model": {"kind": "fno", "modes": args.modes, "width": args.width, "layers": args.layers},
                 "batch": args.batch}

    # online: pdekit stream (the solvers run while the rank trains)
    t0 = time.perf_counter()
    report = stream({"out": str(work / "online"), "pde": "heat", "resolution": args.resolution,
                     "simulations": args.simulations, "steps": args.steps, "clients": args.clients, "ranks": 1,
                     "modes": args.modes, "width": args.width, "layers": args.layers, "batch_size": args.batch,
                     "watermark": 4 * args.batch, "memory": "2GB", "validation": args.validation,
                     "eval_every": 10**9, "device": "cpu", "quiet": True})
    online_wall = time.perf_counter() - t0
    val = _validation(report, args, np)
    from pdekit.operators import load

    online_model = load(work / "online" / "model.pt")
    out["online"] = {"wall_seconds": online_wall, "samples_per_second": report["samples_per_second"],
                     "blocked_fraction": report["blocked_fraction"], "samples_trained": report["samples_trained"],
                     "training_steps": report["training_steps"], "accepted_samples": report["accepted_samples"],
                     "expected_samples": report["expected_samples"], "bytes_received": report["bytes_received"],
                     "validation_l2": _score(online_model, val, torch),
                     "validation_l2_reported": report["validation_l2"]}

    # in-memory ceiling: the same ensemble (same parameters) computed into tensors first
    space = ParameterSpace({}, seed=0, draw_seed=True)
    t0 = time.perf_counter()
    trajs = []
    for s in range(args.simulations):
        frames = []
        simulate("heat", args.resolution, args.steps, space.draw(s), lambda k, f: frames.append(f["u"]))
        trajs.append(np.stack(frames))
    gen_memory = time.perf_counter() - t0
    x, y = _pairs(np.stack(trajs), torch)
    steps = max(20, min(report["training_steps"], 400))
    model = _model(args, torch)
    _fit_norms(model, x, y)
    _train(model, _memory_batches(x, y, args.batch, torch), steps=3, torch=torch)  # warm-up
    n, samples, secs = _train(model, _memory_batches(x, y, args.batch, torch), steps=steps, torch=torch)
    out["in_memory"] = {"generation_seconds": gen_memory, "samples_per_second": samples / secs, "steps": n}

    # offline: pdekit generate (HDF5), then an h5py DataLoader; trained for the online wall time
    # minus the generation time (equal wall time, generation included)
    h5 = work / "heat.h5"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pdekit", "generate", "heat", "--n", str(args.simulations),
                    "--resolution", str(args.resolution), "--n-records", str(args.steps), "--workers", "1",
                    "-o", str(h5), "--quiet"], check=True, env=env)
    gen_offline = time.perf_counter() - t0
    data = _H5Pairs(h5, args.steps)
    model = _model(args, torch)
    xs, ys = zip(*(data[i] for i in range(0, len(data), max(1, len(data) // 256))))
    _fit_norms(model, torch.stack(xs), torch.stack(ys))
    budget = max(0.0, online_wall - gen_offline)
    n_off, samples_off, secs_off = _train(model, _loader_batches(data, args.batch, torch), seconds=budget, torch=torch)
    out["offline"] = {"generation_seconds": gen_offline, "train_seconds": secs_off, "steps": n_off,
                      "samples_per_second": samples_off / secs_off if secs_off else 0.0,
                      "total_seconds": gen_offline + secs_off, "validation_l2": _score(model, val, torch)}
    out["offline"]["samples_per_second_alone"] = _throughput_alone(data, args, torch)

    mem = out["in_memory"]["samples_per_second"]
    out["ratios"] = {
        "online_over_memory": out["online"]["samples_per_second"] / mem,
        "offline_over_memory": out["offline"]["samples_per_second_alone"] / mem,
        "online_over_offline_samples_per_s": out["online"]["samples_per_second"] / out["offline"]["samples_per_second_alone"],
        "online_validation_l2_over_offline": out["online"]["validation_l2"] / out["offline"]["validation_l2"],
    }
    out["targets"] = {"online_over_memory": TARGETS["online_over_memory"], "blocked_fraction": TARGETS["blocked_fraction"],
                      "online_validation_l2_over_offline": 1.0}
    out["meets"] = {"online_over_memory": out["ratios"]["online_over_memory"] >= TARGETS["online_over_memory"],
                    "blocked_fraction": out["online"]["blocked_fraction"] < TARGETS["blocked_fraction"],
                    "accuracy_at_equal_wall_time": out["online"]["validation_l2"] <= out["offline"]["validation_l2"],
                    "exactly_once": out["online"]["accepted_samples"] == out["online"]["expected_samples"]}
    # bound: the trainer waits on data (I/O-bound) or the data wait on the trainer (compute-bound)
    out["bound"] = {"online": "I/O-bound (waits on the solvers)" if out["online"]["blocked_fraction"] >= 0.05
                    else "compute-bound (the trainer is the bottleneck)",
                    "offline": "compute-bound (file in the page cache; the model step dominates)"
                    if out["ratios"]["offline_over_memory"] > 0.8 else "I/O-bound (reading the file)"}
    return out


def _throughput_alone(data, args, torch) -> float:
    model = _model(args, torch)
    _fit_norms(model, *[torch.stack(t) for t in zip(*(data[i] for i in range(16)))])
    _train(model, _loader_batches(data, args.batch, torch), steps=3, torch=torch)
    n, samples, secs = _train(model, _loader_batches(data, args.batch, torch), steps=30 if args.quick else 100,
                              torch=torch)
    return samples / secs


def machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> int:
    args = parse_args(argv)
    record = {"benchmark": "streaming", "quick": args.quick, "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="bench_streaming_"))
    try:
        record["transport"] = t = transport(args)
        print(f"transport (64x64 float32, 1 client -> 1 rank, median of {t['reps']}): "
              f"plain TCP {t['tcp_ceiling_fields_per_s']:,.0f} fields/s | pdekit stream "
              f"{t['stream_fields_per_s']:,.0f} fields/s ({t['stream_over_tcp']:.2f}x TCP, "
              f"{t['stream_MB_per_s']:.0f} MB/s) | target {t['target_fields_per_s']:,}: "
              f"{'met' if t['meets_target'] else 'MISSED'}")
        record["training"] = r = training(args, work)
        print(f"\nheat {r['resolution']}x{r['resolution']}, {r['simulations']} simulations x {r['steps']} frames, "
              f"FNO modes {args.modes} width {args.width} layers {args.layers}, batch {args.batch}, 1 thread")
        print(f"{'mode':<12}{'samples/s':>12}{'generation s':>14}{'train s':>10}{'val rel L2':>12}")
        print(f"{'in-memory':<12}{r['in_memory']['samples_per_second']:>12.1f}{r['in_memory']['generation_seconds']:>14.1f}"
              f"{'':>10}{'':>12}")
        off, on = r["offline"], r["online"]
        print(f"{'offline':<12}{off['samples_per_second_alone']:>12.1f}{off['generation_seconds']:>14.1f}"
              f"{off['train_seconds']:>10.1f}{off['validation_l2']:>12.4f}")
        print(f"{'online':<12}{on['samples_per_second']:>12.1f}{'(overlapped)':>14}{on['wall_seconds']:>10.1f}"
              f"{on['validation_l2']:>12.4f}")
        ra, me = r["ratios"], r["meets"]
        print(f"online / in-memory {ra['online_over_memory']:.2f} (target >= 0.9: "
              f"{'met' if me['online_over_memory'] else 'MISSED'}; {r['bound']['online']}), blocked "
              f"{100 * on['blocked_fraction']:.1f}% (target < 5%: {'met' if me['blocked_fraction'] else 'MISSED'})")
        print(f"offline / in-memory {ra['offline_over_memory']:.2f} ({r['bound']['offline']})")
        print(f"equal wall time ({on['wall_seconds']:.1f} s, generation included): online L2 / offline L2 "
              f"{ra['online_validation_l2_over_offline']:.2f} ({'met' if me['accuracy_at_equal_wall_time'] else 'MISSED'}); "
              f"exactly once: {on['accepted_samples']} of {on['expected_samples']}")
        record["machine"]["load_average_after"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = write_record(args.output, record)
    print(f"\nrecord: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
