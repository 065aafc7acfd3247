"""Winner-take-all: k competing populations with lateral inhibition.

What it computes
    ``k`` populations ``c0..c{k-1}`` of ``size`` LIF compartments (``du=1023``: synaptic
    current lasts ~4 steps; ``dv=205``: ~20-step membrane).  Population i is driven by its
    own input group ``in{i}``: ``fan_in`` private Bernoulli sources per compartment, each
    firing with probability ``p_i`` per step, weight ``w_in``.  The strengths are seeded:
    one population (chosen by ``seed``) gets ``p_max``, the others a uniform draw in
    [``p_min``, ``p_max * (1 - margin)``], so the strongest input leads the runner-up by
    at least ``margin``.  Every input alone is above threshold (each population fires on
    its own).  Each population excites itself (``w_self``, all-to-all) and inhibits every
    other population (``w_inh``, all-to-all): the population with the strongest input
    wins and silences the others.  The network computes argmax over its inputs.

Parameters
    k=5, size=20, fan_in=5, w_in=8, p_max=0.25, p_min=0.15, margin=0.2, w_self=2,
    w_inh=-8, du=1023, dv=205, vth=400, steps=400, seed=0.
    With ``w_inh=0`` there is no competition and the check fails (every population fires).

Check (second half of the run, steps [steps // 2, steps))
    * the population with the most spikes is the one with the strongest input, measured
      from the network itself: the summed weight of the input spikes each population
      receives (input events x synapse weights);
    * the winner fires (>= 1 spike per compartment in the window);
    * every other population is suppressed: at most 10 % of the winner's spike count.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.errors import ChipemuError

from programs._common import check_build_size, energy_detail

SUPPRESSED = 0.10  # a loser may fire at most this fraction of the winner's spikes


def build(k: int = 5, size: int = 20, fan_in: int = 5, w_in: int = 8, p_max: float = 0.25,
          p_min: float = 0.15, margin: float = 0.2, w_self: int = 2, w_inh: int = -8,
          du: int = 1023, dv: int = 205, vth: int = 400, steps: int = 400, seed: int = 0) -> Network:
    check_build_size("wta", {"k": k, "size": size, "fan_in": fan_in}, k * size * (128 + 64 * (fan_in + k * size)),
                     f"{k:,} populations of {size:,}", groups=2 * k + 1)
    if k < 2:
        raise ChipemuError(f"wta: k = {k} must be >= 2 competing populations")
    if not 0 <= p_min <= p_max * (1 - margin) < p_max <= 1:
        raise ChipemuError(f"wta: need 0 <= p_min ({p_min}) <= p_max * (1 - margin) ({p_max * (1 - margin):g}) "
                           f"< p_max ({p_max}) <= 1")
    rng = np.random.default_rng(seed)
    strongest = int(rng.integers(k))
    p = rng.uniform(p_min, p_max * (1 - margin), k)
    p[strongest] = p_max
    net = Network("wta", steps=steps)
    pops = [net.add_population(f"c{i}", size, du=du, dv=dv, vth=vth) for i in range(k)]
    for i, pop in enumerate(pops):
        grp = net.add_bernoulli_input(f"in{i}", size * fan_in, p=float(p[i]), seed=seed * 1000 + i + 1)
        net.connect(grp, pop, "explicit", src=np.arange(size * fan_in),
                    dst=np.repeat(np.arange(size), fan_in), weight=w_in, delay=0)
    for i, pop in enumerate(pops):
        if w_self:
            net.connect(pop, pop, "all_to_all", weight=w_self, delay=0)
        if w_inh:
            for j, other in enumerate(pops):
                if j != i:
                    net.connect(pop, other, "all_to_all", weight=w_inh, delay=0)
    return net


def input_drive(net: Network) -> np.ndarray:
    """Summed weight of all input spikes delivered to each population (its input strength)."""
    drive = np.zeros(len(net.populations))
    names = [p.name for p in net.populations]
    for proj in net.projections:
        if proj.pre_is_input:
            grp = net.input_group(proj.pre)
            events = np.bincount(grp.spike_idx, minlength=grp.size)
            drive[names.index(proj.post)] += float((events[proj.src] * proj.weight.astype(np.int64)).sum())
    return drive


def late_counts(result) -> np.ndarray:
    """Spikes per population in the second half of the run."""
    net, spikes = result.network, result.spikes
    sel = spikes.t >= result.steps // 2
    return np.bincount(net.population_of(spikes.neuron[sel]), minlength=len(net.populations))


def check(result) -> tuple[bool, str]:
    net = result.network
    drive = input_drive(net)
    counts = late_counts(result)
    want = int(np.argmax(drive))
    got = int(np.argmax(counts))
    names = [p.name for p in net.populations]
    window = result.steps - result.steps // 2
    losers = np.delete(counts, got)
    runner_up = int(losers.max()) if losers.size else 0
    next_drive = float(np.sort(drive)[-2]) if drive.size > 1 else 0.0
    if len(names) <= 8:
        listing = ", ".join(f"{n}={c}" for n, c in zip(names, counts))
    else:
        top = np.argsort(-counts, kind="stable")[:3]
        listing = ", ".join(f"{names[i]}={counts[i]}" for i in top) + f", ... ({len(names)} populations)"
    detail = (f"strongest input {names[want]} (drive {drive[want]:.0f}, next {next_drive:.0f}); "
              f"spikes in last {window} steps: {listing}")
    if counts.max() == 0:
        return False, f"no population fires in the last {window} steps: {detail}"
    if got != want:
        return False, f"wrong winner {names[got]}: {detail}"
    if counts[got] < net.populations[got].size:
        return False, f"winner {names[got]} barely fires ({counts[got]} spikes): {detail}"
    if runner_up > SUPPRESSED * counts[got]:
        return False, (f"losers not suppressed: runner-up has {runner_up} spikes > "
                       f"{SUPPRESSED:.0%} of winner's {counts[got]}: {detail}")
    return True, (f"{names[got]} wins with {counts[got]} spikes, runner-up {runner_up} "
                  f"(<= {SUPPRESSED:.0%}): {detail}" + energy_detail(result, 1, "decision"))
