"""What every neuron model beside CUBA LIF provides, and the integer helpers they share.

A :class:`NeuronModel` is a set of *registers* (per-compartment integer constants, each with
an inclusive range and a default), a set of *state words* (per-compartment integer
variables, zero at the start unless the model says otherwise), and one integer *kernel*
that advances the state one timestep.  Both runners -- :mod:`chipemu.reference` and the chip
cores of :mod:`chipemu.core` -- call the same kernel through
:class:`chipemu.neurons.bank.NeuronBank`, so they cannot disagree.

Kernel contract::

    payload = kernel(state, a, p, t)

``state``: {word: int64 array (n,)}, updated in place; ``a``: int64 (n,) synaptic input
arriving at step t (sum over arriving spikes of weight x payload, a binary spike having
payload 1); ``p``: the model's prepared constants (:meth:`NeuronModel.prepare`); ``t``:
the 0-based step.  ``payload``: int64 (n,), the value each compartment sends this step,
0 for no spike.  A *binary* model sends 1; a *graded* model sends a signed payload of up
to :data:`PAYLOAD_BITS` bits (wrapped to that width, see :func:`wrap_payload`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: graded-spike payload width in bits (Loihi 2 messages carry up to 24-bit payloads)
PAYLOAD_BITS = 24


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """``x`` wrapped to a ``bits``-bit two's complement integer (int64 result).

    Lava's fixed-point process models hold their variables in ``np.int32`` arrays, so
    every store wraps at 32 bits; ``wrap(x, 32)`` reproduces that.
    """
    half = np.int64(1) << (bits - 1)
    return ((np.asarray(x, dtype=np.int64) + half) & ((half << 1) - 1)) - half


def wrap32(x: np.ndarray) -> np.ndarray:
    return wrap(x, 32)


def wrap_payload(x: np.ndarray) -> np.ndarray:
    """A graded payload as it travels: ``PAYLOAD_BITS``-bit two's complement."""
    return wrap(x, PAYLOAD_BITS)


def trunc_shift(p: np.ndarray, shift) -> np.ndarray:
    """``sign(p) * (|p| >> shift)``: division by ``2**shift`` rounding toward zero."""
    p = np.asarray(p, dtype=np.int64)
    return np.sign(p) * (np.abs(p) >> shift)


def decay12(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``trunc0(x * keep / 4096)``: Loihi's 12-bit decay (``keep`` = 4096 - decay)."""
    return trunc_shift(x * keep, 12)


def payload_bytes(payload: np.ndarray) -> np.ndarray:
    """Bytes a graded payload occupies in a message: its signed width rounded up to bytes.

    ``width = bit_length(|p|) + 1`` (sign bit), ``bytes = ceil(width / 8)``, at most
    ``PAYLOAD_BITS / 8``; 0 for a zero payload (no message).  Project assumption: Loihi 2
    packs payloads in whole bytes (Intel publishes no message format).
    """
    p = np.abs(np.asarray(payload, dtype=np.int64))
    width = np.zeros(p.shape, dtype=np.int64)
    nz = p > 0
    width[nz] = np.floor(np.log2(p[nz])).astype(np.int64) + 2  # bit_length + sign
    return np.minimum((width + 7) // 8, PAYLOAD_BITS // 8)


@dataclass(frozen=True)
class Register:
    """One per-compartment integer register: inclusive range, default, meaning."""

    lo: int
    hi: int
    default: int
    doc: str


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model: registers, state words, the kernel and its properties.

    ``name``: the model's key in flat files and ``Population.model``; ``lava``: the Lava
    process (and fixed-point process model) it matches; ``graded``: its spikes carry a
    payload; ``registers``: {name: :class:`Register`}; ``state``: state word names (their
    count is the state words per compartment the mapper charges); ``prepare(regs) -> p``
    turns validated register arrays into the kernel's constants; ``init(regs) -> {word:
    array}`` overrides zero initial state words; ``check(owner, regs)`` raises on
    combinations of registers the ranges alone do not exclude; ``bias_words``: the
    prepared constants that make a compartment active without input.
    """

    name: str
    lava: str
    graded: bool
    registers: dict
    state: tuple
    kernel: Callable
    prepare: Callable
    doc: str
    init: Callable | None = None
    check: Callable | None = None
    bias_words: tuple = field(default=())

    @property
    def state_words(self) -> int:
        return len(self.state)

    def initial_state(self, regs: dict, n: int) -> dict:
        state = {w: np.zeros(n, dtype=np.int64) for w in self.state}
        if self.init is not None:
            for w, v in self.init(regs).items():
                state[w][:] = v
        return state
