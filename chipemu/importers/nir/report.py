"""The quantisation report of a NIR import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuantizationReport:
    """What quantizing the float NIR network to Loihi fixed point changed.

    Errors are relative: weights to ``max|W|`` (``|w/s - W| / max|W|``), thresholds to the
    float threshold ``v_threshold*s/(g_u*g_v)``, decays to the float per-step keep factor
    ``1 - dt/tau``, biases to the largest float bias of the same node; all are maxima over
    every value (the weight error also has a mean over every weight).
    """

    weight_scale: float
    weight_scale_auto: bool
    weight_error_max: float
    weight_error_mean: float
    threshold_error_max: float
    decay_error_max: float
    bias_error_max: float
    synapses: int
    synapses_dropped: int
    dt: float
    nodes: tuple[tuple[str, str], ...]  #: (node key, NIR type) of every converted node
    notes: tuple[str, ...] = ()
    shared_projections: int = 0          #: projections stored as kernel + geometry (conv, pooling)

    @property
    def nodes_converted(self) -> int:
        return len(self.nodes)

    def to_dict(self) -> dict:
        """The JSON form (the report's ``import.details``)."""
        return {"weight_scale": self.weight_scale, "weight_scale_auto": self.weight_scale_auto,
                "weight_error_max": self.weight_error_max, "weight_error_mean": self.weight_error_mean,
                "threshold_error_max": self.threshold_error_max, "decay_error_max": self.decay_error_max,
                "bias_error_max": self.bias_error_max, "synapses": self.synapses,
                "synapses_dropped": self.synapses_dropped, "shared_projections": self.shared_projections,
                "dt": self.dt, "nodes": [list(n) for n in self.nodes], "notes": list(self.notes)}

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for _, t in self.nodes:
            kinds[t] = kinds.get(t, 0) + 1
        made = ", ".join(f"{n} {t}" for t, n in kinds.items()) or "no nodes"
        how = "chosen automatically" if self.weight_scale_auto else "given"
        shared = f", {self.shared_projections} of them shared-weight projections" if self.shared_projections else ""
        text = (f"Converted {self.nodes_converted} NIR nodes ({made}) at dt = {self.dt:g} s with weight "
                f"scale {self.weight_scale:.6g} ({how}): {self.synapses} synapses{shared}"
                f"{f' ({self.synapses_dropped} weights rounded to 0 and dropped)' if self.synapses_dropped else ''}; "
                f"weight error max {self.weight_error_max:.3%} / mean {self.weight_error_mean:.3%} of max|W|, "
                f"threshold rounding error max {self.threshold_error_max:.3%}, decay factor error max "
                f"{self.decay_error_max:.3%}, bias error max {self.bias_error_max:.3%}.")
        if self.notes:
            text += " Notes: " + " ".join(n if n.endswith(".") else n + "." for n in self.notes)
        return text
