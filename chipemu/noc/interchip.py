"""Per-chip traffic of a run on a system of chips (what crossing chips costs, by chip).

Everything is aggregated from per-core and per-link counters with the numbering of
:mod:`chipemu.hardware`; cost grows with cores and links, not with core pairs.
"""

from __future__ import annotations

import numpy as np

from chipemu.hardware import CHIP_TO_CHIP, Hardware

__all__ = ["chip_traffic"]


def chip_traffic(hw: Hardware, core_chip, link_packets, core_packets_out, core_packets_in) -> dict:
    """Per-chip and per chip-to-chip link traffic over a run.

    Returns a JSON-able dict:

    ``grid`` [chips_x, chips_y, chips_z]; ``cores_used``, ``packets_out``,
    ``packets_in`` (per chip: cores hosting logical cores, packets injected / delivered by
    its cores); ``interchip_out`` / ``interchip_in`` (per chip: packets leaving / entering
    it on chip-to-chip links); ``links``: one entry ``{"from": chip, "to": chip,
    "packets": n}`` per pair of neighbouring chips with traffic (summed over the boundary
    links between them), sorted by (from, to).
    """
    n = hw.n_chips
    core_chip = np.asarray(core_chip, dtype=np.int64)
    lp = np.asarray(link_packets, dtype=np.int64)
    out = {"grid": list(hw.chips),
           "cores_used": np.bincount(core_chip, minlength=n).tolist(),
           "packets_out": np.bincount(core_chip, weights=np.asarray(core_packets_out, np.float64),
                                      minlength=n).astype(np.int64).tolist(),
           "packets_in": np.bincount(core_chip, weights=np.asarray(core_packets_in, np.float64),
                                     minlength=n).astype(np.int64).tolist()}
    frm, to = hw.link_ends()
    sel = (hw.link_kind == CHIP_TO_CHIP) & hw.link_exists & (lp > 0) if lp.size == hw.n_links else np.zeros(0, bool)
    a, b, p = hw.router_chip[frm[sel]], hw.router_chip[to[sel]], lp[sel].astype(np.float64)
    out["interchip_out"] = np.bincount(a, weights=p, minlength=n).astype(np.int64).tolist()
    out["interchip_in"] = np.bincount(b, weights=p, minlength=n).astype(np.int64).tolist()
    key, inverse = np.unique(a * n + b, return_inverse=True)
    total = np.bincount(inverse.reshape(-1), weights=p, minlength=key.size).astype(np.int64)
    out["links"] = [{"from": int(k // n), "to": int(k % n), "packets": int(v)} for k, v in zip(key, total)]
    return out
