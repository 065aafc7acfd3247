"""The connectivity the mapper works on: a network reduced to *pins* and per-compartment counts.

Every presynaptic source has one global *source id*: compartments are ``0..n-1`` and input
sources are ``n..n+in_n-1`` (input ``j`` is source ``n + j``).  A *pin* is a distinct
(source, target compartment) pair with at least one synapse; duplicate synapses between
the same pair share one pin.  Pins are what the mapper optimises: a source's spike becomes
one packet per distinct core holding one of its pins' targets.

:class:`MapGraph` holds the pins twice, as compressed sparse rows (CSR) by target
(``in_ptr``/``in_src``: the distinct sources of each compartment, i.e. its fan-in) and by
source (``out_ptr``/``out_dst``: the distinct targets of each source), plus per-compartment
synapse counts and maximum delays.  It is built with sorts of packed integer keys (no
Python loop over synapses): ~2 s for 10 M synapses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from chipemu.arrays import run_starts
from chipemu.errors import ChipemuError
from chipemu.network import FlatNetwork, Network

from . import kernel
from .encoding import conv_geometry, kernel_share, projection_encoding, synapse_codes

NetworkLike = Union[Network, FlatNetwork]


#: the mapper keeps a large array of source/compartment ids in int64 while it takes at most
#: this many bytes, else in int32 when the ids fit: numpy gathers by int32 indices ~2x
#: slower (it converts the indices each time), int64 ids take twice the memory
INT64_IDS_BYTES = 2**27


def segment_ids(ptr: np.ndarray) -> np.ndarray:
    """Row index of every entry of a CSR with row pointer ``ptr`` (length ``ptr[-1]``)."""
    return np.repeat(np.arange(ptr.size - 1, dtype=np.int64), np.diff(ptr))


def row_positions(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (int64) of the entries of CSR rows ``rows`` in the CSR's data, concatenated
    row after row, and the position (in ``rows``) of the row of each entry."""
    rows = np.asarray(rows, dtype=np.int64)
    lo = ptr[rows]
    deg = ptr[rows + 1] - lo
    total = int(deg.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(rows.size, dtype=np.int64), deg)
    # entry i of the output is data position i - (output start of its row) + (row's start)
    idx = np.repeat(lo - (np.cumsum(deg) - deg), deg)
    idx += np.arange(total, dtype=np.int64)
    return idx, owner


def gather_rows(ptr: np.ndarray, data: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries of CSR rows ``rows`` concatenated, and the position (in ``rows``) of each entry."""
    idx, owner = row_positions(ptr, rows)
    return data[idx], owner


@dataclass(frozen=True, eq=False)
class ProjectionInfo:
    """Where a projection's synapses sit in the flat arrays (for diagnostics).

    ``kind`` is ``"rec"`` (compartment -> compartment: ``src/dst``) or ``"in"`` (input ->
    compartment: ``in_src/in_dst``); its synapses are ``start..stop-1`` of those arrays.
    """

    name: str
    kind: str
    start: int
    stop: int
    plastic: bool = False
    #: synapse encoding (mapper.encoding): sparse, dense or conv; for conv the target
    #: range, compartments per output channel and kernel entries per output channel
    encoding: str = "sparse"
    post_start: int = 0
    post_size: int = 0
    channel_size: int = 0
    slice_entries: int = 0


@dataclass(frozen=True, eq=False)
class MapGraph:
    """A network's connectivity as the mapper needs it (see the module docstring).

    Attributes:
        flat: the flat arrays the graph was built from.
        n: compartments; in_n: input sources; n_src: ``n + in_n`` source ids.
        m: synapses in all (compartment and input synapses, duplicates counted).
        insyn: (n,) synapses onto each compartment (count, duplicates counted).
        insyn_enc: (n, 3) the same split by encoding (sparse, dense, conv; mapper.encoding).
        kernel_share: (n,) conv kernel entries charged to each compartment when partitioning.
        in_delay_max: (n,) largest delay of a synapse onto each compartment (steps; -1 if none).
        in_ptr, in_src: CSR by target compartment of the distinct source ids (pins).
        out_ptr, out_dst: CSR by source id of the distinct target compartments (pins).
        pop_names, pop_starts: populations (contiguous; empty for a bare FlatNetwork).
        projections: where each projection's synapses are, for diagnostics.
    """

    flat: FlatNetwork = field(repr=False)
    n: int
    in_n: int
    m: int
    insyn: np.ndarray = field(repr=False)
    insyn_enc: np.ndarray = field(repr=False)
    kernel_share: np.ndarray = field(repr=False)
    in_delay_max: np.ndarray = field(repr=False)
    in_ptr: np.ndarray = field(repr=False)
    in_src: np.ndarray = field(repr=False)
    out_ptr: np.ndarray = field(repr=False)
    out_dst: np.ndarray = field(repr=False)
    pop_names: tuple[str, ...] = ()
    pop_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    projections: tuple[ProjectionInfo, ...] = ()
    in_names: tuple[str, ...] = ()
    in_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    name: str = "network"

    @property
    def n_src(self) -> int:
        return self.n + self.in_n

    @property
    def n_pins(self) -> int:
        return int(self.in_src.size)

    @property
    def fanin(self) -> np.ndarray:
        """(n,) distinct presynaptic sources of each compartment (count)."""
        return np.diff(self.in_ptr)

    def pin_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(source, target)`` of every pin, ordered by (target, source)."""
        return self.in_src, segment_ids(self.in_ptr)

    def population_of(self, index) -> np.ndarray:
        """Population position of compartment indices (-1 when there are no populations)."""
        idx = np.asarray(index)
        if not self.pop_names:
            return np.full(idx.shape, -1, dtype=np.int64)
        return np.searchsorted(self.pop_starts, idx, side="right") - 1

    def describe_compartment(self, i: int) -> str:
        """``population 'exc' (compartment 5120)`` or ``compartment 5120``."""
        p = int(self.population_of(i))
        if p < 0:
            return f"compartment {i}"
        return f"population '{self.pop_names[p]}' (compartment {i})"

    def describe_source(self, s: int) -> str:
        """A source id in words: a compartment, or ``input group 'stim' (input source 3)``."""
        if s < self.n:
            return self.describe_compartment(s)
        j = s - self.n
        if not self.in_names:
            return f"input source {j}"
        g = int(np.searchsorted(self.in_starts, j, side="right") - 1)
        return f"input group '{self.in_names[g]}' (input source {j})"

    def populations_in(self, compartments: np.ndarray, limit: int = 3) -> str:
        """Names of the populations of some compartments, for messages about a core."""
        if not self.pop_names or compartments.size == 0:
            return ""
        pops = np.flatnonzero(np.bincount(self.population_of(compartments), minlength=len(self.pop_names)))
        names = [f"'{self.pop_names[p]}'" for p in pops[:limit]]
        more = f" and {pops.size - limit} more" if pops.size > limit else ""
        return ("population " if pops.size == 1 else "populations ") + ", ".join(names) + more

    def population_range(self, name: str) -> tuple[int, int]:
        """``(start, stop)`` of a population by name (ChipemuError if unknown)."""
        if name not in self.pop_names:
            allowed = ", ".join(self.pop_names) if self.pop_names else "none: the network has no population names"
            raise ChipemuError(f"pin: no population named {name!r} (populations: {allowed})")
        p = self.pop_names.index(name)
        stop = int(self.pop_starts[p + 1]) if p + 1 < len(self.pop_names) else self.n
        return int(self.pop_starts[p]), stop


def build_graph(network: NetworkLike) -> MapGraph:
    """Reduce a :class:`Network` (or a bare :class:`FlatNetwork`) to a :class:`MapGraph`."""
    if isinstance(network, Network):
        flat = network.flat()
        pop_names = tuple(p.name for p in network.populations)
        pop_starts = np.array([p.start for p in network.populations], dtype=np.int64)
        projections = _projection_infos(network)
        in_names = tuple(g.name for g in network.inputs)
        in_starts = np.array([g.start for g in network.inputs], dtype=np.int64)
        name = network.name
    elif isinstance(network, FlatNetwork):
        flat, pop_names, pop_starts, name = network, (), np.zeros(0, np.int64), "network"
        projections = _block_infos(flat)
        in_names, in_starts = (), np.zeros(0, np.int64)
    else:
        raise ChipemuError(f"map: expected a Network or FlatNetwork, got {type(network).__name__}")
    n, in_n = flat.n, int(flat.in_n)
    n_src = n + in_n
    ex = flat.expanded()  # shared-weight projections as explicit synapses (transient)
    k = int(ex.src.size)
    m = k + int(ex.in_src.size)
    src = np.empty(m, dtype=np.int64)
    src[:k] = ex.src
    np.add(ex.in_src, n, out=src[k:], casting="unsafe")
    dst = np.concatenate([ex.dst, ex.in_dst], dtype=np.int64)
    delay = np.concatenate([ex.delay, ex.in_delay], dtype=np.int64)
    del ex
    insyn = np.bincount(dst, minlength=n).astype(np.int64) if n else np.zeros(0, np.int64)
    by_enc = dst * 3
    by_enc += np.concatenate(synapse_codes(flat, projections))
    insyn_enc = np.bincount(by_enc, minlength=3 * n).reshape(n, 3).astype(np.int64)
    del by_enc
    in_delay_max = _largest_per_row(dst, delay, n)
    del delay
    idx_dtype = np.int32 if n_src < 2**31 - 1 else np.int64
    if kernel.in_use() and n_src < 2**31 - 1:  # the compiled counting sorts (mapper/kernel.py): same pins
        in_ptr, in_src, out_ptr, out_dst = kernel.pins_build(src, dst, n, n_src, idx_dtype)
        del src, dst
    else:
        key = dst * max(n_src, 1)
        key += src
        del src, dst
        holder = [key]
        del key
        in_ptr, in_src, out_ptr, out_dst = _pins(holder, n, n_src, idx_dtype)
    return MapGraph(flat=flat, n=n, in_n=in_n, m=m, insyn=insyn, insyn_enc=insyn_enc,
                    kernel_share=kernel_share(n, projections), in_delay_max=in_delay_max,
                    in_ptr=in_ptr, in_src=in_src, out_ptr=out_ptr, out_dst=out_dst,
                    pop_names=pop_names, pop_starts=pop_starts, projections=projections,
                    in_names=in_names, in_starts=in_starts, name=name)


def _pins(holder: list, n: int, n_src: int, idx_dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pins of the synapses whose packed keys ``target * n_src + source`` (int64) are
    ``holder``'s one array (taken from it, so that it is freed as soon as it is sorted), as
    CSRs ``(in_ptr, in_src, out_ptr, out_dst)``, by sorts of packed keys (numpy)."""
    # pins: the distinct (target, source) pairs, by one sort of packed keys (32-bit ones
    # when they fit: about twice as fast)
    key = holder.pop()
    if n * n_src <= 2**32:
        key = key.astype(np.uint32)
    key.sort()
    pin = key[run_starts(key)].astype(np.int64, copy=False)
    del key
    pin_t = pin // max(n_src, 1)
    pin_s = pin
    pin_s -= pin_t * max(n_src, 1)
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    if n:
        np.cumsum(np.bincount(pin_t, minlength=n), out=in_ptr[1:])
    in_src = pin_s.astype(idx_dtype)
    # the same pins by (source, target)
    okey = pin_s * max(n, 1)
    okey += pin_t
    del pin_s, pin_t, pin
    if n * n_src <= 2**32:
        okey = okey.astype(np.uint32)
    okey.sort()
    o_s = okey // max(n, 1)
    out_dst = (okey - o_s * max(n, 1)).astype(idx_dtype)
    del okey
    out_ptr = np.zeros(n_src + 1, dtype=np.int64)
    if n_src:
        np.cumsum(np.bincount(o_s, minlength=n_src), out=out_ptr[1:])
    return in_ptr, in_src, out_ptr, out_dst


def _largest_per_row(row: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """(n,) the largest of the ``value`` s (small integers >= 0, e.g. delays) of each row, -1
    for a row without any: one count per (row, value) pair, then the last value counted."""
    out = np.full(n, -1, dtype=np.int64)
    if row.size == 0 or n == 0:
        return out
    top = int(value.max()) + 1
    if n * top > 2**26:  # a large range of values: a per-row maximum instead of counts
        np.maximum.at(out, row, value)
        return out
    seen = np.bincount(row * top + value, minlength=n * top).reshape(n, top) > 0
    has = seen.any(axis=1)
    out[has] = top - 1 - np.argmax(seen[has, ::-1], axis=1)
    return out


def _block_infos(flat: FlatNetwork) -> tuple[ProjectionInfo, ...]:
    """ProjectionInfo of the shared-weight blocks of a bare FlatNetwork (canonical positions)."""
    out, done = [], {"rec": 0, "in": 0}
    for b in flat.shared:
        lo = b.at + done[b.kind]
        k = b.proj.kernel
        post_size = int(np.prod(b.proj.out_shape))
        out.append(ProjectionInfo(b.proj.name, b.kind, lo, lo + len(b), encoding="conv", post_start=b.post_start,
                                  post_size=post_size, channel_size=post_size // k.shape[0],
                                  slice_entries=int(k[0].size)))
        done[b.kind] += len(b)
    return tuple(out)


def _projection_infos(net: Network) -> tuple[ProjectionInfo, ...]:
    out = []
    pos = {"rec": 0, "in": 0}
    for pr in net.projections:
        kind = "in" if pr.pre_is_input else "rec"
        enc = projection_encoding(net, pr)
        geo = dict(zip(("post_start", "post_size", "channel_size", "slice_entries"),
                       conv_geometry(net, pr))) if enc == "conv" else {}
        out.append(ProjectionInfo(pr.name, kind, pos[kind], pos[kind] + len(pr),
                                  plastic=getattr(pr, "plasticity", None) is not None, encoding=enc, **geo))
        pos[kind] += len(pr)
    return tuple(out)


def source_rates(graph: MapGraph, rates=None) -> np.ndarray:
    """Spike rate of every source id (spikes per timestep), the weights of the traffic objective.

    ``rates`` is None (every source weighs 1: the objective counts packets per spike of
    every source, i.e. connectivity only), an ``(n,)`` array of compartment rates (input
    sources then get their rate from their spike events: events / steps, or 1 without
    steps), or an ``(n + in_n,)`` array for all sources.  Rates must be finite and >= 0.
    """
    n, in_n = graph.n, graph.in_n
    if rates is None:
        return np.ones(n + in_n, dtype=np.float64)
    r = np.asarray(rates, dtype=np.float64)
    if r.shape == (n,):
        flat = graph.flat
        if flat.steps > 0:
            ri = np.bincount(flat.in_spike_idx, minlength=in_n)[:in_n] / float(flat.steps)
        else:
            ri = np.ones(in_n)
        r = np.concatenate([r, ri])
    elif r.shape != (n + in_n,):
        raise ChipemuError(f"rates: shape {r.shape}, expected ({n},) for the compartments "
                           f"or ({n + in_n},) for compartments and input sources")
    if r.size and (not np.all(np.isfinite(r)) or r.min() < 0):
        i = int(np.flatnonzero(~np.isfinite(r) | (r < 0))[0])
        raise ChipemuError(f"rates: value {r[i]!r} at index {i} must be finite and >= 0 (spikes per step)")
    return r
