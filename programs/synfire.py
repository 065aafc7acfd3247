"""Synfire chain: a pulse of spikes propagates from group to group.

What it computes
    ``groups`` groups ``g0..g{groups-1}`` of ``group_size`` compartments; every compartment
    of group g excites every compartment of group g+1 (all-to-all, ``weight``) over
    synapses of ``delay`` steps.  A stimulus (one input source per compartment of group 0)
    fires once at step ``stim_step``.  Compartments have ``du = dv = 4095`` (current and
    voltage last one step) and threshold ``group_size * weight // 2``: a full volley from
    the previous group fires a group, half a volley does not.

    Timing (docs/neuron.md): a spike at step s over a synapse of delay d is integrated at
    s + 1 + d, and a compartment receiving a full volley crosses threshold in the step the
    volley arrives, so group g fires at ``stim_step + 1 + g * (delay + 1)``.

Parameters
    groups=20, group_size=32, delay=3, weight=64, stim_step=2,
    steps=None (default: just past the last group's arrival, plus 10).

Check
    Every compartment of every group whose arrival step is within the run fires exactly
    once, at that step; groups whose arrival is beyond the run are silent; at least one
    group is checked.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network

from programs._common import check_build_size, energy_detail


def build(groups: int = 20, group_size: int = 32, delay: int = 3, weight: int = 64,
          stim_step: int = 2, steps: int | None = None) -> Network:
    check_build_size("synfire", {"groups": groups, "group_size": group_size},
                     groups * group_size * (128 + 64 * group_size), f"{groups:,} groups of {group_size:,}",
                     groups=groups + 1)
    if steps is None:
        steps = stim_step + 2 + groups * (delay + 1) + 10
    net = Network("synfire", steps=steps)
    # a volley of group_size spikes of `weight` crosses the threshold: group_size * weight > threshold
    threshold = max(1, group_size * weight // 2)
    pops = [net.add_population(f"g{i}", group_size, du=4095, dv=4095, vth=threshold)
            for i in range(groups)]
    stim = net.add_spike_times("stim", [[stim_step]] * group_size)
    net.connect(stim, pops[0], "one_to_one", weight=254, delay=0)
    # the stimulus must fire group 0 alone: 254*64 > threshold*64 needs threshold < 254
    if threshold >= 254:
        net.connect(stim, pops[0], "all_to_all", weight=254, delay=0, name="stim-all")
    for a, b in zip(pops[:-1], pops[1:]):
        net.connect(a, b, "all_to_all", weight=weight, delay=delay)
    return net


def expected_arrival(net: Network) -> dict[str, int]:
    """Step at which each group should fire (read from the network: stimulus and chain delay)."""
    stim_step = int(net.input_group("stim").spike_t.min())
    chain = [p for p in net.projections if not p.pre_is_input]
    d = int(chain[0].delay[0]) if chain else 0
    return {p.name: stim_step + 1 + i * (d + 1) for i, p in enumerate(net.populations)}


def check(result) -> tuple[bool, str]:
    net, spikes = result.network, result.spikes
    want = expected_arrival(net)
    bad, checked = [], 0
    for p in net.populations:
        sel = spikes.select(p.start, p.stop)
        if want[p.name] >= result.steps:
            if len(sel):
                bad.append(f"{p.name}: expected silence (arrival {want[p.name]} is beyond the run), "
                           f"got {len(sel)} spikes")
            continue
        checked += 1
        ok = len(sel) == p.size and np.all(sel.t == want[p.name]) and np.unique(sel.neuron).size == p.size
        if not ok:
            got = sorted(set(sel.t.tolist()))[:5]
            bad.append(f"{p.name}: expected {p.size} spikes at step {want[p.name]}, got {len(sel)} at steps {got}")
    if bad:
        return False, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more groups)" if len(bad) > 3 else "")
    if checked == 0:
        return False, f"no group's arrival step is within the {result.steps}-step run: nothing was checked"
    last = [p.name for p in net.populations if want[p.name] < result.steps][-1]
    arrivals = list(want.values())
    spacing = arrivals[1] - arrivals[0] if len(arrivals) > 1 else 0
    return True, (f"pulse reached {checked} of {len(net.populations)} groups on time, "
                  f"{spacing} steps apart "
                  f"(last checked group {last} at step {want[last]})" + energy_detail(result, 1, "pulse"))
