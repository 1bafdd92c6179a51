"""Streaming ensemble training: transport, throughput and accuracy, side by side in one run.

Three comparisons, all on this machine, in this run:

1. **Transport** (one client process -> one rank's receiver on loopback, 64x64 float32 fields):
   pdekit's stream (ZeroMQ, credit, acknowledgements, de-duplication, CRC) against the plain-TCP
   ceiling (stdlib sockets, length-prefixed messages, copied into numpy arrays). Target:
   >= 10,000 fields/s.
2. **Throughput** of the same model on the same ensemble (pdekit's ``navier-stokes`` problem,
   the FNO vorticity setting, solved at the stored resolution with a frame every
   ``--record-every`` steps, so a frame costs about what a training sample does; autoregressive
   t -> t+1 pairs):
   * *in-memory*: the ensemble computed into tensors first; batches drawn from memory (the
     ceiling);
   * *offline*: ``pdekit generate navier-stokes`` to HDF5 (timed), then a fresh process trains
     with a DataLoader reading the file with h5py;
   * *online*: ``pdekit stream`` (one rank; the solvers run while it trains); samples/s after
     the watermark and the fraction of that time the trainer waited on its buffer.
   Target: online >= 0.9x the in-memory ceiling, blocked < 5%.
3. **Accuracy at equal wall time** (generation and process start-up included): the offline
   trainer gets the online run's wall time, counted from the start of ``pdekit generate``; both
   models are scored (relative L2 of one step) on the same held-out validation trajectories.
   Target: online <= offline.

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
    p.add_argument("--record-every", type=int, nargs="+", default=[50, 200],
                   help="solver steps (dt = 1e-3) per stored frame, one comparison each: a frame cheaper "
                        "than a training sample (training-bound) and dearer (generation-bound)")
    p.add_argument("--simulations", type=int, default=24)
    p.add_argument("--steps", type=int, default=40, help="stored frames per simulation")
    p.add_argument("--validation", type=int, default=4)
    p.add_argument("--clients", type=int, default=1, help="solver processes at once (online)")
    p.add_argument("--modes", type=int, default=12)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--output", default=str(HERE / "results" / "bench_streaming.json"))
    p.add_argument("--offline-train", nargs=3, metavar=("H5", "DEADLINE", "MODEL"), help=argparse.SUPPRESS)
    p.add_argument("--every", type=int, default=None, help=argparse.SUPPRESS)  # the regime being run
    p.add_argument("--solve-forever", action="store_true", help=argparse.SUPPRESS)  # a busy solver process
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the settings, for the offline trainer
    if args.quick:
        args.fields, args.reps = 8000, 3
        args.resolution, args.simulations, args.steps, args.validation, args.record_every = 32, 12, 20, 2, [20, 80]
        args.modes, args.width, args.layers, args.batch = 8, 16, 2, 8
    return args


# ---------------------------------------------------------------------------------------------
# 1. transport
# ---------------------------------------------------------------------------------------------
_TCP_SENDER = """
import socket, struct, sys, time, numpy as np
port, n = int(sys.argv[1]), int(sys.argv[2])
u = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
s = socket.create_connection(("127.0.0.1", port))
head = struct.pack("<Q", u.nbytes)
c0 = time.process_time()
for _ in range(n):
    s.sendall(head + u.tobytes())
print(time.process_time() - c0)
s.close()
"""


def _child_cpu(proc) -> float:
    """CPU seconds of the sending loop of a child (it prints them), start-up excluded."""
    out, _ = proc.communicate()
    return float(out.strip().splitlines()[-1])


def tcp_ceiling(n: int) -> tuple[float, float, float]:
    """Fields/s of plain length-prefixed TCP from a child process, copied into numpy arrays, and
    the CPU microseconds per field of the sender and of the receiver."""
    import numpy as np

    c0 = time.process_time()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    child = subprocess.Popen([sys.executable, "-c", _TCP_SENDER, str(srv.getsockname()[1]), str(n)],
                             stdout=subprocess.PIPE, text=True)
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
    mine = time.process_time() - c0
    sender = _child_cpu(child)
    conn.close()
    srv.close()
    return (n - 1) / (t1 - t0), 1e6 * sender / n, 1e6 * mine / n


_STREAM_SENDER = """
import sys, time, numpy as np
from pdekit.streaming import StreamClient
address, n = sys.argv[1], int(sys.argv[2])
u = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
with StreamClient(address, run="bench", generation=1, simulation=0, attempt=1) as c:
    c0 = time.process_time()
    for k in range(n):
        c.send(k, u=u)
    print(time.process_time() - c0)
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


def stream_transport(n: int) -> tuple[float, float, float]:
    """Fields/s accepted by one rank's receiver from one client process (buffer drained), and the
    CPU microseconds per field of the client process and of the rank (receiver and drain)."""
    from pdekit.streaming.buffers import FIFOBuffer
    from pdekit.streaming.receiver import Receiver
    from pdekit.streaming.targets import ParameterTarget

    ctl = _Control()
    budget = 256 << 20
    rec = Receiver(run="bench", steps=n, budget=budget, buffer=FIFOBuffer(budget),
                   target=ParameterTarget(steps=n, parameter_names=["a"]), control_address=ctl.address,
                   coordinator_patience=3600)
    rec.start()
    ident = ctl.expect(b"REGISTER")
    ctl.send(ident, b"WELCOME", {"generation": 1})
    ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [64, 64]}]})
    ctl.send(ident, b"ASSIGN", {"assignment": {"simulation": 0, "draw": 0, "attempt": 1, "role": "train",
                                               "parameters": {"a": 0.0}}})
    ctl.expect(b"ASSIGNED")
    stop = threading.Event()

    def drain():  # a trainer that never waits long: empties the buffer every 2 ms
        while not stop.is_set():
            if not rec.take(256):
                time.sleep(0.002)

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    c0 = time.process_time()
    child = subprocess.Popen([sys.executable, "-c", _STREAM_SENDER, rec.address, str(n)],
                             stdout=subprocess.PIPE, text=True)
    while rec.counters["steps_accepted"] == 0:
        time.sleep(0.0002)
    t0, first = time.perf_counter(), rec.counters["steps_accepted"]
    while rec.counters["steps_accepted"] < n:
        time.sleep(0.01)  # (a tight poll here would steal the receiver's GIL)
    t1 = time.perf_counter()
    mine = time.process_time() - c0
    client = _child_cpu(child)
    stop.set()
    drainer.join()
    rec.stop()
    ctl.close()
    return (n - first) / (t1 - t0), 1e6 * client / n, 1e6 * mine / n


def transport(args) -> dict:
    tcp, ours = [], []
    for _ in range(args.reps):  # interleaved, so the machine's load hits both alike
        tcp.append(tcp_ceiling(args.fields))
        ours.append(stream_transport(args.fields))
    med = lambda rows, i: statistics.median(r[i] for r in rows)  # noqa: E731
    ceiling, rate = med(tcp, 0), med(ours, 0)
    # CPU per field does not depend on how busy the machine is: with a core for each side the
    # rate would be 1e6 / (CPU microseconds of the slower side)
    cpu_client, cpu_rank = med(ours, 1), med(ours, 2)
    return {"fields": args.fields, "reps": args.reps, "tcp_ceiling_fields_per_s": ceiling,
            "stream_fields_per_s": rate, "stream_over_tcp": rate / ceiling,
            "stream_MB_per_s": rate * 64 * 64 * 4 / 1e6, "target_fields_per_s": TARGETS["transport_fields_per_s"],
            "meets_target": rate >= TARGETS["transport_fields_per_s"],
            "cpu_us_per_field": {"stream_client": cpu_client, "stream_rank": cpu_rank,
                                 "tcp_sender": med(tcp, 1), "tcp_receiver": med(tcp, 2)},
            "stream_fields_per_s_with_a_core_per_side": 1e6 / max(cpu_client, cpu_rank),
            "all_tcp": tcp, "all_stream": ours}


# ---------------------------------------------------------------------------------------------
# 2. and 3. training: in memory, offline (HDF5), online (pdekit stream)
# ---------------------------------------------------------------------------------------------
def _settings(args) -> dict:
    """Navier-Stokes on the torus (the FNO problem) solved at the stored resolution, one frame
    every ``record_every`` steps of dt = 1e-3 (the cost of a frame against a training sample)."""
    return {"solve_resolution": args.resolution, "dt": 1e-3, "record_every": args.every, "nu": 1e-3}


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


def _trajectories(args, parameters, np):
    from pdekit.streaming.problem_client import simulate

    out = []
    for p in parameters:
        frames = []
        simulate("navier-stokes", args.resolution, args.steps, p, lambda k, f: frames.append(f["w"]),
                 settings=_settings(args))
        out.append(np.stack(frames))
    return np.stack(out)


def _score(model, val, torch):
    from pdekit.training.metrics import relative_l2_per_sample

    x, y = _pairs(val, torch)
    with torch.no_grad():
        return float(relative_l2_per_sample(model(x), y).mean())


def _memory_rate(model, x, y, args, torch) -> tuple[float, float]:
    """Samples/s and CPU seconds per sample of training steps on batches drawn from tensors in
    memory (after a warm-up)."""
    from pdekit.training.trainer import Trainer

    trainer = Trainer(model, lr=1e-3, distributed=False, device="cpu")
    g = torch.Generator().manual_seed(0)
    steps = 40 if args.quick else 150
    for n in range(steps + 3):
        if n == 3:
            t0, c0 = time.perf_counter(), time.process_time()
        idx = torch.randint(len(x), (args.batch,), generator=g)
        trainer.train_step((x[idx], y[idx]))
    n = steps * args.batch
    return n / (time.perf_counter() - t0), (time.process_time() - c0) / n


def offline_train(args, path: str, deadline: float, out: str) -> dict:
    """The offline trainer (run in a fresh process): an h5py DataLoader over consecutive frames of
    a pdekit dataset file, trained until ``deadline`` (wall clock); the model is saved to ``out``."""
    import h5py
    import torch

    from pdekit.training.trainer import Trainer

    torch.set_num_threads(1)

    class Pairs(torch.utils.data.Dataset):
        def __init__(self):
            self.f = None
            with h5py.File(path, "r") as f:
                self.n, self.T = f["outputs"].shape[:2]

        def __len__(self):
            return self.n * (self.T - 1)

        def __getitem__(self, i):
            if self.f is None:
                self.f = h5py.File(path, "r")
            s, k = divmod(i, self.T - 1)
            pair = torch.as_tensor(self.f["outputs"][s, k:k + 2, ..., 0], dtype=torch.float32)
            return pair[0:1], pair[1:2]

    data = Pairs()
    model = _model(args, torch)
    sample = [data[i] for i in range(0, len(data), max(1, len(data) // 256))]
    model.in_normalizer.fit(torch.stack([x for x, _ in sample]))
    model.out_normalizer.fit(torch.stack([y for _, y in sample]))
    trainer = Trainer(model, lr=1e-3, distributed=False, device="cpu")
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))
    steps = samples = s_first = 0
    t_first = None
    while time.time() < deadline:
        for x, y in loader:
            if time.time() >= deadline:
                break
            trainer.train_step((x, y))
            steps, samples = steps + 1, samples + len(x)
            if steps == 3:
                t_first, s_first = time.perf_counter(), samples
    rate = (samples - s_first) / (time.perf_counter() - t_first) if t_first and steps > 3 else 0.0
    model.save(out, overwrite=True)  # the benchmark's own scratch file
    return {"steps": steps, "samples": samples, "samples_per_second": rate}


def training(args, work: Path) -> dict:
    import numpy as np
    import torch

    from pdekit.operators import load
    from pdekit.streaming.run import stream
    from pdekit.streaming.sampler import ParameterSpace

    torch.set_num_threads(1)
    settings = _settings(args)
    out: dict = {"problem": {"pde": "navier-stokes", "resolution": args.resolution, **settings},
                 "regime": f"a frame every {args.every} solver steps",
                 "simulations": args.simulations, "steps": args.steps, "clients": args.clients,
                 "model": {"kind": "fno", "modes": args.modes, "width": args.width, "layers": args.layers},
                 "batch": args.batch}

    # online: pdekit stream (the solvers run while the rank trains)
    t0 = time.perf_counter()
    report = stream({"out": str(work / "online"), "pde": "navier-stokes", "resolution": args.resolution,
                     "settings": settings, "simulations": args.simulations, "steps": args.steps,
                     "clients": args.clients, "ranks": 1, "modes": args.modes, "width": args.width,
                     "layers": args.layers, "batch_size": args.batch, "watermark": 4 * args.batch,
                     "memory": "2GB", "validation": args.validation, "eval_every": 10**9, "device": "cpu",
                     "quiet": True})
    online_wall = time.perf_counter() - t0
    val = _trajectories(args, [s["parameters"] for s in report["validation_simulations"]], np)
    out["online"] = {"wall_seconds": online_wall, "samples_per_second": report["samples_per_second"],
                     "cpu_seconds_per_sample": report["cpu_seconds_per_sample"],
                     "blocked_fraction": report["blocked_fraction"], "samples_trained": report["samples_trained"],
                     "training_steps": report["training_steps"], "accepted_samples": report["accepted_samples"],
                     "expected_samples": report["expected_samples"], "bytes_received": report["bytes_received"],
                     "disk_bytes_written": report["disk_bytes_written"],
                     "validation_l2": _score(load(work / "online" / "model.pt"), val, torch)}
    # the rank's receiver thread (whole run) against the rank's CPU time after the watermark
    rank = report["ranks"]["0"]
    out["online"]["receiver"] = {"loops": rank["buffer"]["receiver_loops"],
                                 "cpu_seconds": rank["buffer"]["receiver_cpu_seconds"],
                                 "share_of_rank_cpu": rank["buffer"]["receiver_cpu_seconds"]
                                 / max(rank["train_cpu_seconds"], 1e-9)}

    # in-memory ceiling: the same ensemble (same draws) computed into tensors first
    space = ParameterSpace({}, seed=0, draw_seed=True)
    t0 = time.perf_counter()
    x, y = _pairs(_trajectories(args, [space.draw(s) for s in range(args.simulations)], np), torch)
    gen_memory = time.perf_counter() - t0
    model = _model(args, torch)
    model.in_normalizer.fit(x)
    model.out_normalizer.fit(y)
    rate, cpu = _memory_rate(model, x, y, args, torch)
    out["in_memory"] = {"generation_seconds": gen_memory, "samples_per_second": rate, "cpu_seconds_per_sample": cpu}
    # the same, with solver processes running beside it as they do during the online run (the
    # machine's cores are shared between simulations and training either way)
    solvers = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args.argv, "--every",
                                 str(args.every), "--solve-forever"], env=dict(os.environ, OMP_NUM_THREADS="1"))
               for _ in range(args.clients)]
    try:
        time.sleep(1.0)
        rate, cpu = _memory_rate(model, x, y, args, torch)
    finally:
        for proc in solvers:
            proc.kill()
            proc.wait()
    out["in_memory_beside_solvers"] = {"samples_per_second": rate, "cpu_seconds_per_sample": cpu}

    # offline: pdekit generate (HDF5), then a fresh process trains with an h5py DataLoader until the
    # online run's wall time is used up (process start-up and generation included)
    h5, offline_model = work / "ns.h5", work / "offline.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t_start = time.time()
    subprocess.run([sys.executable, "-m", "pdekit", "generate", "navier-stokes", "--n", str(args.simulations),
                    "--resolution", str(args.resolution), "--solve-resolution", str(args.resolution),
                    "--dt", "1e-3", "--record-every", str(args.every), "--nu", "1e-3",
                    "--t-final", repr(args.steps * args.every * 1e-3), "--workers", str(args.clients),
                    "-o", str(h5), "--quiet"], check=True, env=env)
    gen_offline = time.time() - t_start
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args.argv, "--every", str(args.every),
                           "--offline-train", str(h5), repr(t_start + online_wall), str(offline_model)],
                          check=True, env=env, capture_output=True, text=True)
    trained = json.loads(done.stdout.strip().splitlines()[-1])
    out["offline"] = {"generation_seconds": gen_offline, "wall_seconds": time.time() - t_start,
                      "steps": trained["steps"], "samples_trained": trained["samples"],
                      "samples_per_second": trained["samples_per_second"],
                      "validation_l2": _score(load(offline_model), val, torch)}

    mem = out["in_memory"]["samples_per_second"]
    on, off = out["online"], out["offline"]
    out["ratios"] = {"online_over_memory": on["samples_per_second"] / mem,
                     "online_over_memory_beside_solvers":
                         on["samples_per_second"] / out["in_memory_beside_solvers"]["samples_per_second"],
                     # CPU per sample does not depend on how busy the machine is; it includes the
                     # rank's receiver thread (the solvers run in their own processes)
                     "online_over_memory_cpu": out["in_memory"]["cpu_seconds_per_sample"] / on["cpu_seconds_per_sample"],
                     "offline_over_memory": off["samples_per_second"] / mem,
                     "online_validation_l2_over_offline": on["validation_l2"] / off["validation_l2"]}
    out["targets"] = {"online_over_memory": TARGETS["online_over_memory"],
                      "blocked_fraction": TARGETS["blocked_fraction"], "online_validation_l2_over_offline": 1.0}
    out["meets"] = {"online_over_memory": out["ratios"]["online_over_memory"] >= TARGETS["online_over_memory"],
                    "blocked_fraction": on["blocked_fraction"] < TARGETS["blocked_fraction"],
                    "accuracy_at_equal_wall_time": on["validation_l2"] <= off["validation_l2"],
                    "exactly_once": on["accepted_samples"] == on["expected_samples"]}
    out["bound"] = {"online": "I/O-bound (the trainer waits on the solvers)" if on["blocked_fraction"] >= 0.05
                    else "compute-bound (the trainer is the bottleneck; the solvers wait on its credit)",
                    "offline": "compute-bound (the file is in the page cache; the model step dominates)"
                    if out["ratios"]["offline_over_memory"] > 0.8 else "I/O-bound (reading the file item by item)"}
    return out


def machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.solve_forever:  # a solver process beside the in-memory trainer (see training())
        from pdekit.streaming.problem_client import simulate

        for seed in range(10**9):
            simulate("navier-stokes", args.resolution, args.steps, {"seed": seed}, lambda k, f: None,
                     settings=_settings(args))
    if args.offline_train is not None:  # the offline trainer's own process (see training())
        h5, deadline, model = args.offline_train
        print(json.dumps(offline_train(args, h5, float(deadline), model)))
        return 0
    record = {"benchmark": "streaming", "quick": args.quick, "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="bench_streaming_"))
    try:
        record["transport"] = t = transport(args)
        cpu = t["cpu_us_per_field"]
        print(f"transport (64x64 float32, 1 client -> 1 rank, median of {t['reps']}): "
              f"plain TCP {t['tcp_ceiling_fields_per_s']:,.0f} fields/s | pdekit stream "
              f"{t['stream_fields_per_s']:,.0f} fields/s ({t['stream_over_tcp']:.2f}x TCP, "
              f"{t['stream_MB_per_s']:.0f} MB/s) | target {t['target_fields_per_s']:,}: "
              f"{'met' if t['meets_target'] else 'MISSED'}")
        print(f"  CPU per field: stream client {cpu['stream_client']:.1f} us, rank {cpu['stream_rank']:.1f} us "
              f"(TCP {cpu['tcp_sender']:.1f} / {cpu['tcp_receiver']:.1f} us); with a core per side: "
              f"{t['stream_fields_per_s_with_a_core_per_side']:,.0f} fields/s")
        record["training"] = []
        for every in args.record_every:
            args.every = every
            (work / f"every-{every}").mkdir()
            r = training(args, work / f"every-{every}")
            record["training"].append(r)
            on, off, mem = r["online"], r["offline"], r["in_memory"]
            print(f"\nnavier-stokes {args.resolution}x{args.resolution} (a frame every {every} steps), "
                  f"{r['simulations']} simulations x {r['steps']} frames, {args.clients} solver process(es); FNO modes "
                  f"{args.modes} width {args.width} layers {args.layers}, batch {args.batch}, 1 thread")
            print(f"{'mode':<11}{'samples/s':>11}{'generation s':>14}{'wall s':>9}{'steps':>8}{'val rel L2':>12}")
            print(f"{'in-memory':<11}{mem['samples_per_second']:>11.1f}{mem['generation_seconds']:>14.1f}"
                  f"   ({r['in_memory_beside_solvers']['samples_per_second']:.1f} samples/s beside "
                  f"{args.clients} running solver(s))")
            print(f"{'offline':<11}{off['samples_per_second']:>11.1f}{off['generation_seconds']:>14.1f}"
                  f"{off['wall_seconds']:>9.1f}{off['steps']:>8}{off['validation_l2']:>12.4f}")
            print(f"{'online':<11}{on['samples_per_second']:>11.1f}{'overlapped':>14}{on['wall_seconds']:>9.1f}"
                  f"{on['training_steps']:>8}{on['validation_l2']:>12.4f}")
            ra, me = r["ratios"], r["meets"]
            print(f"online / in-memory {ra['online_over_memory']:.2f} (target >= 0.9: "
                  f"{'met' if me['online_over_memory'] else 'MISSED'}; {r['bound']['online']}); blocked after the "
                  f"watermark {100 * on['blocked_fraction']:.1f}% (target < 5%: "
                  f"{'met' if me['blocked_fraction'] else 'MISSED'})")
            print(f"online / in-memory beside running solvers {ra['online_over_memory_beside_solvers']:.2f}; "
                  f"by CPU time per sample (receiver included) {ra['online_over_memory_cpu']:.2f}; the "
                  f"receiver thread: {on['receiver']['loops']} wake-ups, {100 * on['receiver']['share_of_rank_cpu']:.1f}% "
                  f"of the rank's CPU time")
            print(f"offline / in-memory {ra['offline_over_memory']:.2f} ({r['bound']['offline']})")
            print(f"equal wall time ({on['wall_seconds']:.0f} s, generation and start-up included): online L2 / "
                  f"offline L2 {ra['online_validation_l2_over_offline']:.2f} (target <= 1: "
                  f"{'met' if me['accuracy_at_equal_wall_time'] else 'MISSED'}); exactly once: "
                  f"{on['accepted_samples']} of {on['expected_samples']}")
        record["machine"]["load_average_after"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = write_record(args.output, record)
    print(f"\nrecord: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
