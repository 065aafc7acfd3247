r"""Import a NIR graph (Neuromorphic Intermediate Representation) as a chipemu Network.

:func:`from_nir` converts a :class:`nir.NIRGraph` (or a ``.nir`` HDF5 file) of spiking
layers into a :class:`~chipemu.network.Network` of Loihi CUBA LIF populations and returns a
:class:`QuantizationReport` of every rounding it made.  Modules: :mod:`.graph` (reading,
nested graphs), :mod:`.neurons` (neuron nodes -> registers), :mod:`.ops` (linear nodes and
the paths between neurons), :mod:`.build` (scale, quantise, build), :mod:`.report`.  :func:`load_nir` returns only the
network (the hook for ``.nir`` files on the command line).  Needs the optional package
``nir`` (``pip install 'chipemu[nir]'``).  docs/import.md has the same content with an
example.

Supported graphs
----------------
Sources (``Input``, any shape; a leading batch axis of 1 is ignored) and neuron nodes
(``CubaLIF``, ``LIF``, ``IF``, and the read-outs ``CubaLI``, ``LI``, ``I`` that integrate
and never fire), joined by paths of linear nodes (``Affine``, ``Linear``, ``Scale``,
``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Delay``), feed-forward
or recurrent; nested ``NIRGraph`` nodes are inlined (their nodes become ``graph.key``).
Every neuron node becomes a population named by its node key (shaped like the node, or
like the conv output that feeds it), every ``Input`` an input group, every path a
projection (named by its last weight node's key, or ``"pre->post"``): a path with one
convolution or pooling (and otherwise reshapes, scalar ``Scale`` and one delay) is a
shared-weight conv projection (kernel + geometry); any other path is its nodes composed
into explicit synapses (sparse, never a dense matrix).  Scalar parameters are broadcast to
the node's shape; ``v_leak`` is folded into the bias.  Several edges into one node add up.

Discrete-time semantics (the float model the conversion matches)
----------------------------------------------------------------
Forward Euler with step ``dt``; the input ``S`` of a neuron node is the sum over its
incoming paths of ``W x + b``, ``x`` being 0/1 spikes (one per step, the convention of
snnTorch/Norse/Lava-dl exports), and a spike crossing a projection arrives one step later
(plus whole-step ``Delay`` nodes), exactly as on Loihi::

    CubaLIF:  I[t] = I[t-1] + dt/tau_syn * (-I[t-1] + w_in * S[t])
              v[t] = v[t-1] + dt/tau_mem * (v_leak - v[t-1] + r * I[t])
    LIF:      v[t] = v[t-1] + dt/tau * (v_leak - v[t-1] + r * S[t])
    IF:       v[t] = v[t-1] + dt * r * S[t]
    all:      spike where v[t] > v_threshold (strict), then v = v_reset (= 0)

Loihi (docs/neuron.md), per step: ``u = u*(4096-(du+1))/4096 + 64*a``,
``v = v*(4096-dv)/4096 + u + bias``, spike where ``v > vth*64``, ``a`` = sum of integer
weights of arriving spikes.  With ``u = k_u * I`` and ``v_loihi = k_v * v`` the two are the
same recursion when, with the gains ``g_u = dt*w_in/tau_syn`` (S -> I per step; 1 for
LIF/IF, whose current is the input itself) and ``g_v = dt*r/tau_mem`` (I -> v per step;
``dt*r/tau`` for LIF, ``dt*r`` for IF) and one global weight scale ``s``::

    integer weight   w     = 2 * round(s * W / 2)            even, must lie in -256..254
    current decay    du    = clip(round(4096*dt/tau_syn) - 1, 0, 4095)    (LIF, IF: 4095)
    voltage decay    dv    = clip(round(4096*dt/tau_mem), 0, 4095)  (LIF: tau; IF: 0)
    scales           k_u   = 64*s/g_u,   k_v = k_u/g_v = 64*s/(g_u*g_v)
    threshold        vth   = round(v_threshold * s / (g_u*g_v))   must be <= 131071
    bias             bias  = k_u * I_b,  I_b = w_in*b (CubaLIF) or b (LIF/IF), per step,
                     stored as bias_mant << bias_exp with the smallest bias_exp in 0..7
                     that fits bias_mant in -4096..4095

``s`` is ``weight_scale`` if given; otherwise the largest ``s`` for which the largest
``|W|`` maps to 254 *and* every threshold and bias stays in range (so normally
``s = 254 / max|W|``).  With snnTorch-style parameters (``w_in = tau_syn/dt``,
``r = tau_mem/dt``) the gains are 1 and ``vth = round(v_threshold * s)``.

Approximations (all reported by :class:`QuantizationReport`)
------------------------------------------------------------
* weights: rounded to even integers (error <= 1/s, relative to max|W| <= 1/254 with the
  automatic scale); weights that round to 0 are dropped (no synapse);
* decays: the per-step keep factors ``1 - dt/tau`` become multiples of 1/4096 (absolute
  error <= 1/8192; ``du``/``dv`` are clipped when ``dt/tau`` is below 1/8192 or above 1);
  Euler's ``1 - dt/tau`` itself approximates ``exp(-dt/tau)`` for ``dt << tau``;
* thresholds: rounded to whole ``vth`` (the Loihi threshold has a resolution of 64 in
  ``v`` units);
* Loihi truncates ``u*keep`` and ``v*keep`` toward zero each step (a systematic error of
  < 1/64 of one weight unit per step);
* ``v_leak`` is a constant drive on v: it becomes the input bias ``v_leak / r`` (LIF, LI)
  or ``v_leak / (r w_in)`` (CubaLIF, CubaLI), exact;
* an ``Affine`` bias into a ``CubaLIF`` node is a constant current that the float model
  low-pass filters (it reaches ``w_in*b`` after a few ``tau_syn``); Loihi has no current
  bias, so its steady-state value is added to ``v`` from step 0 on (exact for LIF/IF);
* ``u`` is a 24-bit register that wraps: a node whose worst-case current (every input
  firing every step) could exceed 2**23 gets a note.

Not supported (:class:`~chipemu.errors.ChipemuError` naming the node): every other node
type (``Threshold``, ...), ``v_reset != 0``, non-positive ``tau``/``r``/``w_in``, negative
thresholds, ``Delay`` values that are not whole steps in 0..62 (or differ per element
between two weight nodes), string padding other than ``valid``/``same``, a weight node
feeding an ``Output`` (end the graph with a neuron: an ``LI`` read-out).
"""

from .build import SUPPORTED, from_nir, load_nir
from .graph import NIRImportError
from .report import QuantizationReport

__all__ = ["SUPPORTED", "NIRImportError", "QuantizationReport", "from_nir", "load_nir"]
