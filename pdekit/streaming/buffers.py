"""Training buffers sized in bytes: FIFO, FIRO and Melissa's reservoir.

A buffer holds :class:`Item` s (one training sample each, with its byte size) between the
receiver thread that puts them and the training loop that draws batches.

* :class:`FIFOBuffer` - first in, first out; a drawn sample leaves the buffer.
* :class:`FIROBuffer` - first in, random out; a drawn sample leaves the buffer.
* :class:`ReservoirBuffer` - Melissa's (Meyer et al., SC'23): training starts at a watermark;
  batches are drawn at random *with repetition* among everything buffered; a sample stays
  until the buffer is full, and then only samples already seen at least once are evicted
  (at random) to make room. Unseen samples are never evicted, so nothing is lost.

Every buffer starts training once it holds ``watermark`` samples (or is full, or the stream
has ended). After :meth:`Buffer.end_stream` it drains: FIFO/FIRO hand out what is left,
the reservoir hands out each still-unseen sample once (without repetition); then it is
:attr:`~Buffer.exhausted`. Statistics (:meth:`Buffer.statistics`): fill, distinct
simulations, a histogram of how often samples were seen, and the Kolmogorov-Smirnov distance
of the buffered parameters to their sampling distribution.

Buffers are not thread-safe; the receiver guards one with its lock.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Sequence

import numpy as np

__all__ = ["Item", "Buffer", "FIFOBuffer", "FIROBuffer", "ReservoirBuffer", "BUFFERS", "make_buffer",
           "ks_uniform"]


@dataclasses.dataclass(eq=False)
class Item:
    """One training sample.

    Attributes
    ----------
    key : (simulation, draw, step)
    x, y : tuple of arrays (or a 1D array of parameters for ``x``)
        Input and target, opaque to the buffer.
    nbytes : int
        Bytes this sample accounts for against the budget.
    params : (p,) float array or None
        The simulation's parameters (for the Kolmogorov-Smirnov statistic).
    seen : int
        Times drawn for training.
    """

    key: tuple[int, int, int]
    x: Any
    y: Any
    nbytes: int
    params: np.ndarray | None = None
    seen: int = 0
    _slot: int = -1  # position in its pool (reservoir)


def ks_uniform(values: np.ndarray, low: float, high: float) -> float:
    """Kolmogorov-Smirnov distance between the sample ``values`` and U(low, high)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0:
        return float("nan")
    cdf = np.clip((v - low) / (high - low), 0.0, 1.0) if high > low else (v >= low).astype(float)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))


class Buffer:
    """Common bookkeeping: bytes, capacity, watermark, per-simulation counts, statistics.

    Parameters
    ----------
    capacity : int
        Bytes the buffered samples may occupy.
    watermark : int
        Samples needed before training starts (>= 1).
    seed : int
        Seed of the random draws and evictions.
    """

    kind = "buffer"

    def __init__(self, capacity: int, *, watermark: int = 1, seed: int = 0) -> None:
        if int(capacity) < 1:
            raise ValueError(f"buffer capacity must be a positive number of bytes; got {capacity}")
        if int(watermark) < 1:
            raise ValueError(f"watermark must be at least one sample; got {watermark}")
        self.capacity, self.watermark = int(capacity), int(watermark)
        self.rng = np.random.default_rng(seed)
        self.bytes = 0
        self.started = False
        self.ended = False
        self.put_count = 0
        self.evicted = 0
        self._per_sim: collections.Counter = collections.Counter()

    # subclasses implement: _add, _remove_all, items(), draw(), unseen_bytes, exhausted
    def __len__(self) -> int:
        return len(self.items())

    def items(self) -> list[Item]:
        raise NotImplementedError

    @property
    def committed_bytes(self) -> int:
        """Bytes that cannot be evicted to make room (all of them, except in the reservoir)."""
        return self.bytes

    def fits(self, nbytes: int, capacity: int | None = None) -> bool:
        """Whether a sample of ``nbytes`` can be put now (evicting seen samples if allowed)."""
        cap = self.capacity if capacity is None else int(capacity)
        return self.committed_bytes + int(nbytes) <= cap

    def put(self, item: Item, *, capacity: int | None = None) -> bool:
        """Add ``item``; False (nothing changes) when it does not fit."""
        cap = self.capacity if capacity is None else int(capacity)
        if not self._make_room(item.nbytes, cap):
            return False
        self._add(item)
        self.bytes += item.nbytes
        self.put_count += 1
        self._per_sim[item.key[0]] += 1
        if len(self) >= self.watermark:
            self.started = True
        return True

    def _make_room(self, nbytes: int, capacity: int) -> bool:
        return self.bytes + nbytes <= capacity

    def _left(self, item: Item) -> None:
        self.bytes -= item.nbytes
        self._per_sim[item.key[0]] -= 1
        if self._per_sim[item.key[0]] <= 0:
            del self._per_sim[item.key[0]]

    def ready(self, batch_size: int) -> bool:
        """Whether :meth:`draw` would return a batch now."""
        if not self.started and (self.ended or not self.fits(max(1, self._typical()))):
            self.started = len(self) > 0
        return self.started and self._can_draw(batch_size)

    def _typical(self) -> int:
        items = self.items()
        return items[-1].nbytes if items else 1

    def end_stream(self) -> None:
        """No more samples will come: start draining."""
        self.ended = True

    def evict(self, simulation: int, draw: int) -> int:
        """Remove every sample of ``(simulation, draw)``; return how many."""
        gone = [it for it in self.items() if it.key[0] == simulation and it.key[1] == draw]
        for it in gone:
            self._discard(it)
        self.evicted += len(gone)
        return len(gone)

    def statistics(self, bounds: Sequence[tuple[float, float]] | None = None) -> dict[str, Any]:
        """Fill, sizes, distinct simulations, seen-count histogram, and KS distances.

        ``bounds`` are the (low, high) of the uniform distribution of each parameter; the
        ``ks`` entry is the largest Kolmogorov-Smirnov distance over the parameters.
        """
        items = self.items()
        seen = np.array([it.seen for it in items], dtype=np.int64)
        edges = [0, 1, 2, 3, 4, 8]
        hist = {("0" if a == 0 else f"{a}" if b == a + 1 else f"{a}-{b - 1}"): int(((seen >= a) & (seen < b)).sum())
                for a, b in zip(edges, edges[1:])}
        hist[f"{edges[-1]}+"] = int((seen >= edges[-1]).sum())
        out = {"kind": self.kind, "samples": len(items), "bytes": int(self.bytes),
               "capacity": self.capacity, "fill": self.bytes / self.capacity,
               "simulations": len(self._per_sim), "seen_histogram": hist, "ks": None}
        if bounds and items and items[0].params is not None:
            params = np.stack([it.params for it in items])
            out["ks"] = max(ks_uniform(params[:, j], lo, hi) for j, (lo, hi) in enumerate(bounds))
        return out

    def state_dict(self) -> dict[str, Any]:
        items = self.items()
        return {"kind": self.kind, "started": self.started, "ended": self.ended,
                "put_count": self.put_count, "evicted": self.evicted,
                "rng": self.rng.bit_generator.state,
                "items": [{"key": list(it.key), "x": it.x, "y": it.y, "nbytes": it.nbytes,
                           "params": it.params, "seen": it.seen} for it in items]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["kind"] != self.kind:
            raise ValueError(f"the checkpoint holds a {state['kind']} buffer; this run uses {self.kind}")
        for it in list(self.items()):
            self._discard(it)
        for d in state["items"]:
            item = Item(tuple(int(k) for k in d["key"]), d["x"], d["y"], int(d["nbytes"]),
                        d["params"], int(d["seen"]))
            self._add(item)
            self.bytes += item.nbytes
            self._per_sim[item.key[0]] += 1
        self.started, self.ended = bool(state["started"]), bool(state["ended"])
        self.put_count, self.evicted = int(state["put_count"]), int(state["evicted"])
        self.rng.bit_generator.state = state["rng"]


class FIFOBuffer(Buffer):
    """First in, first out; batches of ``batch_size`` (the last one may be smaller)."""

    kind = "fifo"

    def __init__(self, capacity: int, **kw) -> None:
        super().__init__(capacity, **kw)
        self._queue: collections.deque[Item] = collections.deque()

    def items(self) -> list[Item]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def _add(self, item: Item) -> None:
        self._queue.append(item)

    def _discard(self, item: Item) -> None:
        self._queue.remove(item)
        self._left(item)

    def _can_draw(self, batch_size: int) -> bool:
        return len(self._queue) >= batch_size or (self.ended and len(self._queue) > 0)

    def _take(self, n: int) -> list[Item]:
        return [self._queue.popleft() for _ in range(n)]

    def draw(self, batch_size: int) -> list[Item]:
        """Remove and return up to ``batch_size`` samples (empty when nothing is ready)."""
        if not self.ready(batch_size):
            return []
        out = self._take(min(batch_size, len(self)))
        for it in out:
            it.seen += 1
            self._left(it)
        return out

    @property
    def exhausted(self) -> bool:
        return self.ended and len(self) == 0


class FIROBuffer(FIFOBuffer):
    """First in, random out: like FIFO, but each drawn sample is picked at random."""

    kind = "firo"

    def __init__(self, capacity: int, **kw) -> None:
        Buffer.__init__(self, capacity, **kw)
        self._pool: list[Item] = []

    def items(self) -> list[Item]:
        return list(self._pool)

    def __len__(self) -> int:
        return len(self._pool)

    def _add(self, item: Item) -> None:
        self._pool.append(item)

    def _discard(self, item: Item) -> None:
        self._pool.remove(item)
        self._left(item)

    def _can_draw(self, batch_size: int) -> bool:
        return len(self._pool) >= batch_size or (self.ended and len(self._pool) > 0)

    def _take(self, n: int) -> list[Item]:
        out = []
        for _ in range(n):
            i = int(self.rng.integers(len(self._pool)))
            self._pool[i], self._pool[-1] = self._pool[-1], self._pool[i]
            out.append(self._pool.pop())
        return out


class _Pool:
    """A list with O(1) random removal (swap with the last); items remember their slot."""

    def __init__(self) -> None:
        self.items: list[Item] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Item) -> None:
        item._slot = len(self.items)
        self.items.append(item)

    def remove(self, item: Item) -> None:
        i, last = item._slot, self.items[-1]
        self.items[i], last._slot = last, i
        self.items.pop()
        item._slot = -1


class ReservoirBuffer(Buffer):
    """Melissa's reservoir: draws with repetition, evicts only seen samples, only when full."""

    kind = "reservoir"

    def __init__(self, capacity: int, **kw) -> None:
        super().__init__(capacity, **kw)
        self._unseen, self._seen = _Pool(), _Pool()
        self.unseen_bytes = 0

    def items(self) -> list[Item]:
        return self._unseen.items + self._seen.items

    def __len__(self) -> int:
        return len(self._unseen) + len(self._seen)

    @property
    def committed_bytes(self) -> int:
        return self.unseen_bytes

    def _add(self, item: Item) -> None:
        (self._seen if item.seen else self._unseen).add(item)
        if not item.seen:
            self.unseen_bytes += item.nbytes

    def _discard(self, item: Item) -> None:
        if item.seen:
            self._seen.remove(item)
        else:
            self._unseen.remove(item)
            self.unseen_bytes -= item.nbytes
        self._left(item)

    def _make_room(self, nbytes: int, capacity: int) -> bool:
        if self.unseen_bytes + nbytes > capacity:
            return False
        while self.bytes + nbytes > capacity:  # full: evict seen samples at random
            victim = self._seen.items[int(self.rng.integers(len(self._seen)))]
            self._discard(victim)
            self.evicted += 1
        return True

    def _can_draw(self, batch_size: int) -> bool:
        return len(self._unseen) > 0 if self.ended else len(self) > 0

    def _mark_seen(self, item: Item) -> None:
        if not item.seen:
            self._unseen.remove(item)
            self.unseen_bytes -= item.nbytes
            self._seen.add(item)
        item.seen += 1

    def draw(self, batch_size: int) -> list[Item]:
        """``batch_size`` samples drawn with repetition (draining: each unseen one once)."""
        if not self.ready(batch_size):
            return []
        if self.ended:  # drain: the still-unseen samples, without repetition
            n = min(batch_size, len(self._unseen))
            picks = [self._unseen.items[int(i)] for i in self.rng.choice(len(self._unseen), n, replace=False)]
        else:
            n_u, total = len(self._unseen), len(self)
            idx = self.rng.integers(total, size=batch_size)
            picks = [self._unseen.items[i] if i < n_u else self._seen.items[i - n_u] for i in idx.tolist()]
        for it in picks:
            self._mark_seen(it)
        return picks

    @property
    def exhausted(self) -> bool:
        return self.ended and len(self._unseen) == 0


#: name -> class, as typed after ``--buffer``
BUFFERS = {"fifo": FIFOBuffer, "firo": FIROBuffer, "reservoir": ReservoirBuffer}


def make_buffer(kind: str, capacity: int, *, watermark: int = 1, seed: int = 0) -> Buffer:
    """A buffer by name (``fifo``, ``firo``, ``reservoir``)."""
    if kind not in BUFFERS:
        raise ValueError(f"unknown buffer {kind!r}; expected one of {sorted(BUFFERS)}")
    return BUFFERS[kind](capacity, watermark=watermark, seed=seed)
