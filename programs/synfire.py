"""Synfire chain: a pulse of spikes propagates from group to group.

``groups`` groups of ``group_size`` compartments; every compartment of group g excites
every compartment of group g+1 over synapses of ``delay`` steps.  A stimulus (one input
source per compartment of group 0) fires once at step ``stim_step``.

Timing (neuron-model.md): an input spike at step s with delay 0 is integrated at s+1;
with the parameters below a compartment receiving a full volley crosses threshold in the
step the volley arrives, so group g fires at ``stim_step + 1 + g * (delay + 1)``.

Check: every compartment of every group fires exactly once, at that step.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network


def build(groups: int = 20, group_size: int = 32, delay: int = 3, weight: int = 64,
          stim_step: int = 2, steps: int | None = None) -> Network:
    if steps is None:
        steps = stim_step + 2 + groups * (delay + 1) + 10
    net = Network("synfire", steps=steps)
    # du = 4095: current lasts one step; vth low enough that one volley of group_size
    # spikes of `weight` crosses it: group_size * weight * 64 > vth * 64.
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
    """Step at which each group should fire."""
    stim_step = int(net.input_group("stim").spike_t.min())
    d = int(net.projections[-1].delay[0]) if len(net.populations) > 1 else 0
    return {p.name: stim_step + 1 + i * (d + 1) for i, p in enumerate(net.populations)}


def check(result) -> tuple[bool, str]:
    net, spikes = result.network, result.spikes
    want = expected_arrival(net)
    bad = []
    for p in net.populations:
        sel = spikes.select(p.start, p.stop)
        if want[p.name] >= result.steps:
            continue
        ok = len(sel) == p.size and np.all(sel.t == want[p.name])
        if not ok:
            got = sorted(set(sel.t.tolist()))[:5]
            bad.append(f"{p.name}: expected {p.size} spikes at step {want[p.name]}, got {len(sel)} at {got}")
    if bad:
        return False, "; ".join(bad[:3])
    last = net.populations[-1].name
    return True, f"pulse reached all {len(net.populations)} groups on time (last group {last} at step {want[last]})"
