"""Which synapse encoding each projection uses in synaptic memory (docs/mapping.md).

Three encodings, after the synapse formats of Loihi's cores (Davies et al., IEEE Micro
2018, "D18": sparse, dense and shared-weight / convolutional synapse lists; SANA-FE's
calibrated Loihi description, Boyle et al., IEEE TCAD 2025, charges each its own
per-event cost: ``loihi_sparse_synapse``, ``loihi_dense_synapse``, ``loihi_conv_synapse``):

``sparse`` (code 0)
    every synapse stores its weight, its delay and the index of its target compartment.
``dense`` (code 1)
    a projection that connects every source to every target (``len == pre.size *
    post.size``, no repeated pair): on any core, a source's synapse list covers all the
    population's compartments there, which sit in consecutive slots, so a synapse stores
    its weight and delay but no index (the list header holds the first slot).
``conv`` (code 2)
    a shared-weight projection (:mod:`chipemu.shared_weights`: convolution, pooling,
    reshape): a core stores the kernel rows of the output channels it holds, once; a
    synapse stores nothing of its own (its weight is a kernel entry found from the
    source's position, its delay is the projection's).

The choice is made per projection, before mapping, and never changes the spikes.
"""

from __future__ import annotations

import numpy as np

#: encoding names by code
ENCODINGS = ("sparse", "dense", "conv")
SPARSE, DENSE, CONV = 0, 1, 2


def projection_encoding(net, proj) -> str:
    """The encoding of one projection of ``net`` (see the module docstring)."""
    if hasattr(proj, "kernel"):
        return "conv"
    groups = {p.name: p for p in net.populations} | {g.name: g for g in net.inputs}
    n_pre, n_post = groups[proj.pre].size, groups[proj.post].size
    if len(proj) == 0 or len(proj) != n_pre * n_post:
        return "sparse"
    key = proj.src.astype(np.int64) * n_post + proj.dst
    return "dense" if np.unique(key).size == len(proj) else "sparse"


def conv_geometry(net, proj) -> tuple[int, int, int, int]:
    """``(post_start, post_size, channel_size, slice_entries)`` of a shared projection:
    its target range, compartments per output channel, kernel entries per output channel."""
    post = next(p for p in net.populations if p.name == proj.post)
    oc = proj.kernel.shape[0]
    return post.start, post.size, post.size // oc, int(proj.kernel[0].size)


def synapse_codes(flat, projections) -> tuple[np.ndarray, np.ndarray]:
    """Encoding code (int8) of every compartment synapse and every input synapse, in
    canonical order.  ``projections``: the graph's :class:`ProjectionInfo` s (empty for a
    bare FlatNetwork: explicit synapses are sparse, shared blocks conv)."""
    codes = {"rec": np.zeros(flat.m, dtype=np.int8), "in": np.zeros(flat.m_in, dtype=np.int8)}
    if projections:
        for p in projections:
            codes[p.kind][p.start:p.stop] = ENCODINGS.index(p.encoding)
        return codes["rec"], codes["in"]
    done = {"rec": 0, "in": 0}
    for b in flat.shared:  # block b starts after its explicit prefix and the earlier blocks
        lo = b.at + done[b.kind]
        codes[b.kind][lo:lo + len(b)] = CONV
        done[b.kind] += len(b)
    return codes["rec"], codes["in"]


def kernel_share(n: int, projections) -> np.ndarray:
    """(n,) kernel entries charged to each compartment when partitioning: each conv
    projection's per-channel kernel row spread over the channel's compartments (rounded
    up), i.e. exact when a core holds whole channels."""
    share = np.zeros(n, dtype=np.int64)
    for p in projections:
        if p.encoding == "conv" and p.channel_size:
            share[p.post_start:p.post_start + p.post_size] += -(-p.slice_entries // p.channel_size)
    return share


def kernel_entries(neuron_core: np.ndarray, projections, n_cores: int) -> np.ndarray:
    """(K,) kernel entries each core stores: for every conv projection, the kernel row of
    each output channel with at least one compartment on the core."""
    out = np.zeros(n_cores, dtype=np.int64)
    for p in projections:
        if p.encoding != "conv" or not p.channel_size:
            continue
        cores = np.asarray(neuron_core[p.post_start:p.post_start + p.post_size], dtype=np.int64)
        channel = np.arange(p.post_size, dtype=np.int64) // p.channel_size
        n_ch = p.post_size // p.channel_size
        pairs = np.unique(cores * n_ch + channel)
        out += np.bincount(pairs // n_ch, minlength=n_cores) * p.slice_entries
    return out
