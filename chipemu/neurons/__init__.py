"""Neuron models beside Loihi's CUBA LIF, and the bank that runs a mix of them.

A population chooses its model by name (``Population.model``):

============================  ======  ==========================================  =============
model                         spikes  Lava process (fixed-point model)             state words
============================  ======  ==========================================  =============
``lif`` (default)             binary  LIF (PyLifModelBitAcc), :mod:`chipemu.neuron`  2
``lif_refractory``            binary  LIFRefractory                                3
``atrlif``                    binary  ATRLIF (PyATRLIFModelFixed)                  4
``rf``                        binary  RF (PyRFModelFixed)                          2
``rf_iz``                     binary  RF_IZ (PyRF_IZModelFixed)                    2
``sigma_delta``               graded  SigmaDelta (PySigmaDeltaModelFixed)          4
``sigma``                     graded  Sigma (PySigmaModelFixed)                    1
``delta``                     graded  Delta (PyDeltaModelFixed)                    3
============================  ======  ==========================================  =============

Each module documents its registers, bit widths and equations.  Registers named like CUBA
LIF's (``du, dv, vth, bias_mant, bias_exp``) live in the population's LIF register arrays
(same ranges); every other register is a *model register* (``Population.model_regs``).
"""

from __future__ import annotations

from .. import neuron as _lif
from ..errors import NetworkError
from .adaptive import ATRLIF, LIF_REFRACTORY
from .base import PAYLOAD_BITS, NeuronModel, Register, payload_bytes, wrap_payload
from .resonate import RF, RF_IZ, rf_registers
from .sigma_delta import DELTA, SIGMA, SIGMA_DELTA

#: the registers that live in the LIF register arrays of a population
LIF_REGISTERS = tuple(_lif.PARAM_RANGES)

LIF = NeuronModel(name="lif", lava="LIF (PyLifModelBitAcc)", graded=False,
                  registers={k: Register(lo, hi, 1 if k == "vth" else 0, f"CUBA LIF register {k}")
                             for k, (lo, hi) in _lif.PARAM_RANGES.items()},
                  state=("u", "v"), kernel=None, prepare=None,
                  doc="Loihi CUBA leaky integrate-and-fire (chipemu.neuron)")

#: model name -> NeuronModel; the order is the model's code (``FlatNetwork.model``)
MODELS: dict[str, NeuronModel] = {m.name: m for m in (LIF, LIF_REFRACTORY, ATRLIF, RF, RF_IZ, SIGMA_DELTA, SIGMA,
                                                       DELTA)}
MODEL_NAMES = tuple(MODELS)

#: every model register outside the LIF arrays -> its Register (one range per name)
MODEL_REGISTERS: dict[str, Register] = {}
for _m in MODELS.values():
    for _name, _reg in _m.registers.items():
        if _name in LIF_REGISTERS:
            lo, hi = _lif.PARAM_RANGES[_name]
            assert (_reg.lo, _reg.hi) == (lo, hi), f"{_m.name}.{_name} must keep the LIF range"
        else:
            assert MODEL_REGISTERS.get(_name, _reg) == _reg or (MODEL_REGISTERS[_name].lo, MODEL_REGISTERS[_name].hi) \
                == (_reg.lo, _reg.hi), f"register {_name} has two ranges"
            MODEL_REGISTERS.setdefault(_name, _reg)


def get_model(name: str, owner: str = "population") -> NeuronModel:
    """The model called ``name``; an unknown name is a :class:`NetworkError` listing the known ones."""
    if not isinstance(name, str) or name not in MODELS:
        raise NetworkError(f"{owner}: unknown neuron model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    return MODELS[name]


__all__ = ["MODELS", "MODEL_NAMES", "MODEL_REGISTERS", "LIF_REGISTERS", "NeuronModel", "Register", "PAYLOAD_BITS",
           "get_model", "payload_bytes", "wrap_payload", "rf_registers"]
