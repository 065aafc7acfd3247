r"""Import a lava-dl netx network file (``.net``, HDF5) as a chipemu Network.

lava-dl (SLAYER) exports trained networks as HDF5 files read by lava-dl's ``netx``
(``lava.lib.dl.netx.hdf5.Network``), which builds Lava processes from them.  This module
builds the chipemu :class:`~chipemu.network.Network` with exactly the integer registers netx
gives Lava, so the spikes are Lava's bit for bit.  Needs ``h5py``
(``pip install 'chipemu[netx]'``).  docs/import.md has the user's view.

File layout (what :func:`read_netx` reads)
------------------------------------------
``layer/{i}`` groups, ``i = 0, 1, ...``, each with ``type`` and ``shape`` (PyTorch order:
``(C, H, W)`` for input/conv/pool, ``(n,)`` or ``(n, 1, 1)`` for dense), a ``neuron`` group
(``type``, ``iDecay``, ``vDecay``, ``vThMant``, ...), and per type ``weight`` (conv/pool
``(out, in/groups, kH, kW[, 1])``, dense ``(out, in)``), ``weight_rec`` (dense_rec),
``bias`` (per channel or per neuron), ``delay``, ``stride``/``padding``/``dilation``
(``(H, W)`` pairs or scalars) and ``groups``.

What netx makes of it (and so what this importer builds)
--------------------------------------------------------
* population ``layer{i}`` per layer that has neurons, compartments in C order of the
  layer's ``shape`` as stored in the file;
* CUBA (``LOIHI``/``CUBA``) neurons: ``du = iDecay - 1``, ``dv = vDecay``,
  ``vth = vThMant``, ``bias_mant = bias`` (per channel for conv/pool), ``bias_exp = 6``;
  ``refDelay`` has no effect (Lava's LIF has no refractory period);
* ``conv``: PyTorch ``conv2d`` of the previous layer (a correlation) with the stored integer
  weights, no exponent -- a shared-weight conv projection;
* ``pool``: sum pooling per channel with the stored kernel -- a depth-wise conv projection;
* ``dense``/``dense_rec``: netx rescales the weights (``optimize_weight_bits``) and Lava
  clips/truncates them to 8 bits, then shifts back with ``weight_exp``; the input delivered
  is the plain integer sum of the stored weights, except in an all-negative matrix whose
  minimum hits Lava's 8-bit clip (:func:`lava_dense_weights` reproduces every step).
  ``dense_rec`` adds the recurrent matrix from the layer to itself;
* ``flatten``: no block; the next dense layer reads the previous layer in C order;
* ``average`` (SLAYER's population read-out, no neurons in netx): a read-out population
  ``layer{i}`` of ``shape[0]`` compartments that never fire, where compartment j
  integrates the spikes of group j of the previous layer (weight 2 each, so
  ``v = 128 * spikes so far``; probe it with ``--probe``);
* timing: a spike of block k at step t is integrated by block k+1 at step t+1 (Lava's
  synapses buffer one step); ``delay`` d (dense) adds d steps;
* ``reset_interval`` I: block k (input = 0, flatten/average not counted) clears u and v at
  the start of every step t with ``t % I == k % I`` (netx's ``LIFReset`` offsets).

Inputs: Lava's netx input block is driven through its bias: ``input_bias`` sets its
``bias_mant``.  ``input_spikes`` replaces the input layer by an input group ``layer0``
emitting the given spikes (or, in a file without an input layer, feeds an input group
``input`` into the first layer's synapses, as netx's ``Network.inp`` does).

SDNN (sigma-delta) files: the ``input`` layer becomes a ``delta`` encoder driven by
``input_values`` (integers, row t = the value Lava's ``Delta`` receives at step t; sent one
step earlier by a graded input group ``input``, so row 0 must be 0), a ``sigma_output`` layer
a ``sigma`` decoder, every other layer a ReLU ``sigma_delta`` with ``vth = vThMant``, the
layer's bias and ``spike_exp = state_exp = 6`` (:mod:`chipemu.neurons`).

Refused with an error naming the layer: neuron types other than CUBA and SDNN (``RF``,
...), layer types ``concat``/``convT``/``unpool``/``dense_comp``,
weights that are odd or beyond 8 bits after netx's scaling (chipemu's weights are even
integers in -256..254), registers out of range, shapes that do not chain.
"""

from .build import (
           LAYER_BUILDERS,
           LAYER_TYPES,
           NEURON_TYPES,
           NetxImport,
           NetxLayerSummary,
           from_netx,
           load_netx,
)
from .reader import NetxImportError, NetxLayer, read_netx
from .registers import NEURON_BUILDERS, lava_dense_weights, neuron_registers

__all__ = ["LAYER_BUILDERS", "LAYER_TYPES", "NEURON_BUILDERS", "NEURON_TYPES", "NetxImport", "NetxImportError",
           "NetxLayer", "NetxLayerSummary", "from_netx", "lava_dense_weights", "load_netx", "neuron_registers",
           "read_netx"]
