"""networkx views of a :class:`~chipemu.network.Network` (``Network.graph`` / ``neuron_graph``)."""

from __future__ import annotations

from .errors import NetworkError
from .shared_weights import SharedProjection


def population_graph(net):
    """Population graph (networkx ``MultiDiGraph``).

    Nodes are populations and input groups (attributes ``kind``, ``size``, ``shape``;
    populations also ``model`` -- the neuron model --, ``graded`` -- whether their spikes
    carry a payload -- and ``state_words`` per compartment; input groups ``graded``).
    One edge per projection, keyed by its name, with attributes ``synapses`` and
    ``max_delay``; explicit projections add ``excitatory`` and ``inhibitory`` synapse
    counts, shared-weight ones ``shared`` (their geometry dict) and ``kernel`` (the
    compact kernel, never the expanded synapses).
    """
    import networkx as nx

    from .neurons import MODELS
    g = nx.MultiDiGraph(name=net.name)
    for p in net.populations:
        m = MODELS[p.model]
        g.add_node(p.name, kind="population", size=p.size, shape=p.dims, model=p.model, graded=m.graded,
                   state_words=m.state_words)
    for s in net.inputs:
        g.add_node(s.name, kind="input", size=s.size, shape=s.dims, graded=s.spike_val is not None)
    for pr in net.projections:
        if isinstance(pr, SharedProjection):
            k = pr.kernel
            g.add_edge(pr.pre, pr.post, key=pr.name, synapses=len(pr), shared=pr.geometry(),
                       kernel=k.copy(), max_delay=pr.synapse_delay)
            continue
        g.add_edge(pr.pre, pr.post, key=pr.name, synapses=len(pr),
                   excitatory=int((pr.weight > 0).sum()), inhibitory=int((pr.weight < 0).sum()),
                   max_delay=int(pr.delay.max()) if len(pr) else 0)
    return g


def neuron_graph(net, max_nodes: int = 20_000):
    """Compartment-level graph (networkx ``DiGraph``) for small networks.

    Nodes are ``("n", i)`` for compartments and ``("in", j)`` for input sources;
    an edge carries ``synapses`` (count) and ``weight`` (summed weight).
    """
    import networkx as nx
    if net.n_compartments + net.n_inputs > max_nodes:
        raise NetworkError(
            f"network '{net.name}' has {net.n_compartments + net.n_inputs} nodes, more than "
            f"max_nodes={max_nodes} for a neuron graph; use graph() or raise max_nodes")
    f = net.flat().expanded()
    g = nx.DiGraph(name=net.name)
    for p in net.populations:
        g.add_nodes_from((("n", i) for i in range(p.start, p.stop)), kind="compartment", model=p.model)
    g.add_nodes_from((("in", j) for j in range(f.in_n)), kind="input")
    for kind, src, dst, w in (("n", f.src, f.dst, f.weight), ("in", f.in_src, f.in_dst, f.in_weight)):
        for s, d, ww in zip(src.tolist(), dst.tolist(), w.tolist()):
            key = ((kind, s), ("n", d))
            if g.has_edge(*key):
                e = g.edges[key]
                e["synapses"] += 1
                e["weight"] += ww
            else:
                g.add_edge(*key, synapses=1, weight=ww)
    return g
