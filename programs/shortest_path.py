"""Single-source shortest paths by a spiking wavefront (edge lengths become synaptic delays).

What it computes
    A seeded random directed graph (``networkx.fast_gnp_random_graph``, ``nodes`` nodes, mean
    out-degree ``degree``) with integer edge lengths drawn uniformly from 1..``max_len``
    (``max_len`` <= 63).  Each node is one compartment that fires on the first spike it
    receives (``du=4095, dv=0, vth=1``, edge weight 2: one arriving spike gives
    v = 128 > 64 = threshold).  An edge u -> v of length L is a synapse of delay L - 1:
    a spike of u at step s is integrated at s + 1 + (L - 1) = s + L (docs/neuron.md), so v
    fires exactly L steps after u.  An input spike at ``stim_step`` fires the source at
    t0 = stim_step + 1, and every node fires at t0 + its shortest-path distance.

    Firing once: each node inhibits itself (synapse to itself, weight -256, delay 0, and
    one more such synapse per 128 incoming edges).  After its spike v stays (dv = 0, no
    leak) at -256 * 64 or below, and the at most in-degree later arrivals, +128 each,
    cannot lift it over the threshold again.

Parameters
    nodes=300, degree=3.0, max_len=20, source=0, stim_step=0, seed=0,
    steps=None (default: t0 + the largest finite distance + 2).

Check
    For every node: first spike step - t0 == ``networkx.single_source_dijkstra_path_length``
    (weight = edge length); nodes not reachable from the source never fire; no node fires
    more than once.  (With ``steps`` shorter than the wavefront, nodes whose arrival is
    beyond the run must simply not have fired yet.)
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from chipemu import Network
from chipemu.errors import ChipemuError

from programs._common import attach_meta, check_build_size, energy_detail, get_meta

WEIGHT = 2          # one arriving spike: v = 2 << 6 = 128 > threshold 1 << 6 = 64
SELF_INHIBITION = -256


def make_graph(nodes: int, degree: float, max_len: int, seed: int) -> nx.DiGraph:
    """The seeded random directed graph with integer edge attribute ``length`` in 1..max_len."""
    if not 1 <= max_len <= 63:
        raise ChipemuError(f"shortest_path: max_len = {max_len} must be in 1..63 (delay = length - 1 <= 62)")
    if nodes < 2:
        raise ChipemuError(f"shortest_path: nodes = {nodes} must be >= 2")
    g = nx.fast_gnp_random_graph(nodes, min(1.0, degree / (nodes - 1)), seed=seed, directed=True)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, size=g.number_of_edges())
    for (u, v), length in zip(sorted(g.edges()), lengths.tolist()):
        g.edges[u, v]["length"] = int(length)
    return g


def build(nodes: int = 300, degree: float = 3.0, max_len: int = 20, source: int = 0, stim_step: int = 0,
          seed: int = 0, steps: int | None = None) -> Network:
    check_build_size("shortest_path", {"nodes": nodes}, nodes * (1000 + 1000 * max(float(degree), 0.0)),
                     f"a graph of {nodes:,} nodes and degree {degree}")  # networkx: ~1 KB per node and edge
    g = make_graph(nodes, degree, max_len, seed)
    if not 0 <= source < nodes:
        raise ChipemuError(f"shortest_path: source = {source} out of range 0..{nodes - 1}")
    dist = nx.single_source_dijkstra_path_length(g, source, weight="length")
    t0 = stim_step + 1
    if steps is None:
        steps = t0 + max(dist.values()) + 2
    net = Network("shortest_path", steps=steps)
    pop = net.add_population("nodes", nodes, du=4095, dv=0, vth=1)
    stim = net.add_spike_times("stim", [[stim_step]])
    net.connect(stim, pop, "explicit", src=[0], dst=[source], weight=WEIGHT, delay=0)
    edges = np.array(sorted(g.edges()), dtype=np.int64).reshape(-1, 2)
    length = np.array([g.edges[u, v]["length"] for u, v in edges.tolist()], dtype=np.int64)
    net.connect(pop, pop, "explicit", src=edges[:, 0], dst=edges[:, 1], weight=WEIGHT, delay=length - 1,
                name="edges")
    indeg = np.bincount(edges[:, 1], minlength=nodes)
    n_self = 1 + (WEIGHT * indeg) // (-SELF_INHIBITION)   # -256 * n_self + 2 * indeg < 1
    self_idx = np.repeat(np.arange(nodes), n_self)
    net.connect(pop, pop, "explicit", src=self_idx, dst=self_idx, weight=SELF_INHIBITION, delay=0,
                name="fire-once")
    return attach_meta(net, "shortest_path", graph=g, source=source, t0=t0, distances=dist)


def check(result) -> tuple[bool, str]:
    net = result.network
    meta = get_meta(net, "shortest_path")
    g, t0 = meta["graph"], meta["t0"]
    dist = nx.single_source_dijkstra_path_length(g, meta["source"], weight="length")
    pop = net.population("nodes")
    spikes = result.spikes.select(pop.start, pop.stop)
    first = spikes.first_spike(pop.size)
    counts = spikes.counts(pop.size)
    want = np.full(pop.size, -1, dtype=np.int64)
    for node, d in dist.items():
        if t0 + d < result.steps:
            want[node] = t0 + d
    beyond = sum(1 for d in dist.values() if t0 + d >= result.steps)
    bad = np.flatnonzero(first != want)
    twice = np.flatnonzero(counts > 1)
    reachable = len(dist)
    unreachable = pop.size - reachable
    if bad.size or twice.size:
        msgs = []
        for i in bad[:3].tolist():
            expect = f"step {want[i]} (distance {dist[i]})" if want[i] >= 0 else (
                "no spike (unreachable)" if i not in dist else "no spike yet")
            got = f"step {first[i]}" if first[i] >= 0 else "no spike"
            msgs.append(f"node {i}: expected {expect}, got {got}")
        if twice.size:
            msgs.append(f"{twice.size} nodes fired more than once (e.g. node {int(twice[0])}: {int(counts[twice[0]])} spikes)")
        head = f"{bad.size} of {pop.size} nodes fired at the wrong step: " if bad.size else ""
        return False, head + "; ".join(msgs)
    horizon = f", {beyond} beyond the {result.steps}-step horizon" if beyond else ""
    checked = reachable - beyond
    if checked == 0:
        return False, "no reachable node arrives within the run: nothing was checked"
    return True, (f"first spikes of all {checked} reachable nodes = Dijkstra distances + {t0} "
                  f"(max distance {max(dist.values())}){horizon}; {unreachable} unreachable nodes silent"
                  + energy_detail(result, 1, "query"))
