"""The report's figures by name: each one's title and caption on ``report.html``.

Kept apart from the drawing code (:mod:`chipemu.report.figures`) so that the command line,
which checks the PNG file names before it runs anything, and the HTML page do not load
matplotlib for them.
"""

from __future__ import annotations

__all__ = ["FIGURES"]

#: figure name (also the PNG file stem) -> (title, caption)
FIGURES = {
    "raster": ("Spike raster", "Every compartment spike (top) and the number of spikes per timestep (bottom); "
                               "shaded bands are populations."),
    "latency": ("Chip time per timestep", "Each step's emulated chip time, stacked: compute (the slowest core's "
                                          "serial operations), NoC drain (until the last packet is delivered) and "
                                          "the barrier."),
    "energy": ("Energy", "Left: total and dynamic energy of the chip and of the modelled von Neumann CPU (log "
                         "scale). Middle and right: where each one's energy goes."),
    "cores": ("Core utilisation on the mesh", "Each square is a router tile with its cores; a core's colour and "
                                              "number are the % of its capacity used (white: unused core)."),
    "links": ("NoC link traffic", "Packets over each directed link of the mesh for the whole run (both "
                                  "directions drawn side by side; grey: unused link)."),
}
