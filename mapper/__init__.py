"""mapper: partition a network's compartments onto cores, place cores on the mesh, route spikes.

>>> from chipemu import Network
>>> from mapper import map_network
>>> net = Network("demo")
>>> a = net.add_population("a", 100, vth=10)
>>> _ = net.connect(a, a, "fixed_fanout", fanout=5, seed=1, weight=2)
>>> m = map_network(net, "tiny", mapper="traffic", seed=0)
>>> m.n_cores, int(m.usage["compartments"].sum())
(2, 100)

Pipeline (each stage in its own module):

1. :mod:`mapper.graph` -- the network reduced to pins (distinct source -> target pairs).
2. :mod:`mapper.resources` -- the per-core resource model and the up-front fit checks.
3. :mod:`mapper.partition` -- compartments -> logical cores; inputs -> injecting cores.
4. :mod:`mapper.place` -- logical cores -> chip (on a system: the chip-level partition),
   then router [x, y] and port on that chip.
5. :mod:`mapper.routing` -- routes, routing tables, destination cores and hops per source
   (geometry from :mod:`chipemu.hardware`).
6. :mod:`mapper.mapping` -- the :class:`Mapping` object, mapping.json, quality figures.

Every mapping returned respects every per-core limit; a network that cannot fit raises
:class:`~chipemu.errors.FitError` before anything runs.
"""

from __future__ import annotations

from typing import Callable, Mapping as TMapping, Sequence

import numpy as np

from chipemu.chips import ChipSpec, SystemSpec, load_hardware
from chipemu.hardware import Hardware
from chipemu.errors import ChipemuError, FitError

from .graph import MapGraph, NetworkLike, build_graph, source_rates
from .mapping import Mapping, format_quality, slots_of
from .partition import (Partition, assign_inputs, partition_sequential, partition_traffic,
                        repair_input_fanout)
from .place import core_traffic, place_anneal, place_rowmajor, place_system
from .resources import (AXON_HEADER_BITS, ResourceModel, check_network, check_usage, core_usage,
                        too_many_cores)
from .routing import DIRECTIONS, ROUTING_MODES, destination_cores, routing_tables, source_hops, xy_route

#: mapper name -> (one-line description, partitioner, placer)
MAPPERS: dict[str, tuple[str, Callable[..., Partition], Callable[..., np.ndarray]]] = {
    "traffic": ("traffic-aware partition (label propagation + growth packing + refinement), "
                "annealed placement (default)", partition_traffic, place_anneal),
    "sequential": ("baseline: fill cores in compartment index order, row-major placement",
                   partition_sequential, place_rowmajor),
    "sequential-anneal": ("index-order partition, annealed placement", partition_sequential, place_anneal),
    "traffic-rowmajor": ("traffic-aware partition, row-major placement", partition_traffic, place_rowmajor),
}
DEFAULT_MAPPER = "traffic"


def mapper_help() -> str:
    """One line per mapper: name and description (for ``chipemu map --help``)."""
    width = max(len(k) for k in MAPPERS)
    return "\n".join(f"  {k.ljust(width)}  {v[0]}" for k, v in MAPPERS.items())


def _partition(graph: MapGraph, model: ResourceModel, spec: ChipSpec, mapper: str, partitioner, seed: int,
               pin, rates):
    """Partition, assign input sources, and check every per-core limit.

    Returns ``(neuron_core, input_core, usage, n_cores, fixed)``; raises :class:`FitError`.
    """
    part = partitioner(graph, model, seed=seed, pin=pin, rates=rates, max_cores=spec.n_cores)
    K = part.n_cores
    if K > spec.n_cores:
        words = {"compartments": "compartments", "synapse_bits": "synaptic memory",
                 "fanin_axons": "fan-in axons", "fanout_axons": "fan-out axons"}
        raise too_many_cores(K, model, f"cores filled up to their {words.get(part.limited_by, part.limited_by)} limit",
                             mapper=mapper)
    nc = part.neuron_core
    ic = repair_input_fanout(graph, model, nc, assign_inputs(graph, nc, K), K)
    usage = core_usage(graph, model, nc, ic, K)
    check_usage(graph, model, usage, nc)
    return nc, ic, usage, K, part.fixed


def map_network(network: NetworkLike | MapGraph, chip: ChipSpec | SystemSpec | str, mapper: str = DEFAULT_MAPPER,
                seed: int = 0, *, max_per_core: int | None = None,
                pin: TMapping[str, Sequence[int]] | None = None, rates=None,
                routing: str = "unicast") -> Mapping:
    """Map ``network`` onto ``chip``: a :class:`ChipSpec` or :class:`SystemSpec`, a chip or
    system preset name, or a TOML path.

    Args:
        network: a :class:`~chipemu.network.Network` (population names enable pinning and
            named diagnostics) or a bare :class:`~chipemu.network.FlatNetwork`.
        chip: the chip.
        mapper: a name in :data:`MAPPERS`.
        seed: seeds every random choice; the same seed gives the same mapping.
        max_per_core: at most this many compartments per core (1..core.compartments).
        pin: ``{population: [physical core ids]}`` (see :mod:`mapper.partition`).
        rates: expected spikes per timestep of each compartment ``(n,)`` or of every
            source ``(n + in_n,)``; None weighs every source equally.
        routing: ``"unicast"`` (Loihi) or ``"multicast"``; affects hop counts.

    Raises:
        FitError: the network does not fit (names the population or core, the resource,
            the amount needed, the capacity and a remedy).
        ChipemuError: bad arguments (unknown mapper, bad pin, ...).
    """
    if mapper not in MAPPERS:
        raise ChipemuError(f"unknown mapper {mapper!r} (allowed: {', '.join(MAPPERS)})")
    if routing not in ROUTING_MODES:
        raise ChipemuError(f"routing mode {routing!r} unknown (allowed: {', '.join(ROUTING_MODES)})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ChipemuError(f"seed = {seed!r} must be an int")
    spec = load_hardware(chip)
    model = ResourceModel.for_chip(spec, max_per_core)
    graph = network if isinstance(network, MapGraph) else build_graph(network)
    model = model.for_graph(graph)
    r = source_rates(graph, rates)
    check_network(graph, model)
    _, partitioner, placer = MAPPERS[mapper]
    try:
        nc, ic, usage, K, fixed = _partition(graph, model, spec, mapper, partitioner, int(seed), pin, r)
    except FitError as first:
        if partitioner is partition_sequential:
            raise
        # a traffic-aware partition never fails where the index-order one fits: fall back to it
        try:
            nc, ic, usage, K, fixed = _partition(graph, model, spec, mapper, partition_sequential, int(seed), pin, r)
        except FitError:
            raise first from None
    by_traffic = partitioner is partition_traffic
    if by_traffic or placer is not place_rowmajor:
        a, b, w = core_traffic(graph, nc, ic, K, r)
    else:  # in-order chips and row-major placement never look at the traffic
        a = b = np.zeros(0, dtype=np.int64)
        w = np.zeros(0)
    slots = place_system(a, b, w, K, spec, placer, by_traffic=by_traffic, seed=int(seed), fixed=fixed)
    core_chip, core_xy, core_port = Hardware.of(spec).core_place(slots)
    pins = {} if not pin else {str(k): [int(c) for c in np.atleast_1d(np.asarray(v)).reshape(-1)]
                               for k, v in pin.items()}
    return Mapping(chip=spec, strategy=mapper, seed=int(seed), neuron_core=nc, neuron_slot=slots_of(nc),
                   input_core=ic, core_xy=core_xy, core_port=core_port, core_chip=core_chip, usage=usage,
                   capacity=model.capacity(), routing=routing, encoding=model.encoding(graph, usage),
                   max_per_core=model.max_per_core, pin=pins,
                   network={"name": graph.name, "compartments": graph.n, "inputs": graph.in_n,
                            "synapses": graph.m})


__all__ = [
    "map_network", "MAPPERS", "DEFAULT_MAPPER", "mapper_help", "Mapping", "MapGraph", "build_graph",
    "ResourceModel", "AXON_HEADER_BITS", "core_usage", "check_usage", "check_network",
    "destination_cores", "source_hops", "routing_tables", "xy_route", "DIRECTIONS", "ROUTING_MODES",
    "format_quality", "partition_sequential", "partition_traffic", "place_rowmajor", "place_anneal",
]
