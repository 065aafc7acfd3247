"""chipemu: map, emulate and cost spiking neural networks on a Loihi-style neuromorphic chip.

Data flows one way: :class:`Network` (what) -> mapping (where) -> run (how it went) ->
report (what it cost).  :mod:`chipemu.reference` runs a network on the host with the same
bit-exact arithmetic (:mod:`chipemu.neuron`) that the emulated chip cores use.
"""

from . import connectors
from .errors import ChipemuError, ChipSpecError, FileFormatError, FitError, NetworkError
from .network import FlatNetwork, InputGroup, Network, Population, Projection
from .spikes import SpikeRaster

__version__ = "0.1.0"

__all__ = [
    "ChipemuError", "ChipSpecError", "FileFormatError", "FitError", "NetworkError",
    "FlatNetwork", "InputGroup", "Network", "Population", "Projection", "SpikeRaster",
    "connectors", "__version__",
]
