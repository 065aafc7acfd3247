"""Shared-weight projections: 2-D/1-D convolution, sum/average pooling, reshape.

A :class:`SharedProjection` connects two groups that carry a shape (``(C, H, W)``, or
``(C, L)`` for 1-D; compartments in C order, as PyTorch lays out a CHW tensor) through one
small kernel reused at every output position.  It is stored compactly -- the kernel plus
its geometry -- and expanded into explicit synapses only by whoever needs them
(:meth:`SharedProjection.synapses`, vectorised numpy: one loop iteration per kernel tap,
none per synapse).

Semantics are PyTorch's ``conv2d`` (cross-correlation, weight layout
``(out_ch, in_ch / groups, kh, kw)``, zero padding, ``stride``, ``dilation``, ``groups``)::

    out[o, y, x] = sum_{c', i, j} kernel[o, c', i, j] * in[g(o) * C/groups + c',
                                                        y * sh - ph + i * dh,
                                                        x * sw - pw + j * dw]

    g(o) = o // (O / groups),   OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1   (same for OW)

Every kernel tap whose input position lies inside the input (not in the padding) is one
synapse ``in -> out`` with that tap's weight and the projection's delay; taps with weight
0 are synapses too (they cost a synaptic operation on Loihi's conv encoding, as on any
stored synapse).  Pooling is the depthwise case (``groups = C``, one weight for every tap):
``sum`` pooling gives every synapse ``weight``; ``avg`` pooling (PyTorch ``avg_pool2d``,
``count_include_pad=True``, divisor ``kh * kw``) gives every synapse ``weight / (kh kw)``,
which must be an even integer so that the average is exact.  A reshape is the identity
on C-order indices between groups of equal size (``weight`` on every synapse): flattening a
``(C, H, W)`` group into ``(C H W,)`` needs no projection at all, since the indices are
already flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import neuron
from .errors import NetworkError

KINDS = ("conv", "sum_pool", "avg_pool", "reshape")

#: columns of the flat file's ``shared_geom`` (one row per shared projection)
GEOM_FIELDS = ("in_c", "in_h", "in_w", "out_c", "out_h", "out_w", "kh", "kw", "stride_h", "stride_w",
               "pad_h", "pad_w", "dil_h", "dil_w", "groups", "delay", "spatial_dims")


def check_shape(owner: str, shape, size: int | None = None) -> tuple[int, ...]:
    """``shape`` as a tuple of 1..4 positive ints (whose product is ``size`` if given)."""
    try:
        dims = tuple(int(d) for d in shape)
        ok = all(int(d) == d and not isinstance(d, bool) for d in shape)
    except (TypeError, ValueError):
        raise NetworkError(f"{owner}: shape {shape!r} must be a tuple of positive integers") from None
    if not ok or not 1 <= len(dims) <= 4 or any(d < 1 for d in dims):
        raise NetworkError(f"{owner}: shape {shape!r} must be a tuple of 1 to 4 positive integers")
    if size is not None and int(np.prod(dims)) != size:
        raise NetworkError(f"{owner}: shape {dims} holds {int(np.prod(dims))} elements, not size {size}")
    return dims


def _pair(owner: str, name: str, value, lo: int) -> tuple[int, int]:
    v = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(v) != 2 or any(isinstance(x, bool) or int(x) != x or int(x) < lo for x in v):
        raise NetworkError(f"{owner}: {name} = {value!r} must be an integer >= {lo} or a pair of them")
    return int(v[0]), int(v[1])


def _chw(owner: str, shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    if len(shape) == 3:
        return shape
    if len(shape) == 2:
        return shape[0], 1, shape[1]
    raise NetworkError(f"{owner}: {what} shape {shape} must be (C, H, W) for 2-D or (C, L) for 1-D")


def out_size(owner: str, n: int, k: int, stride: int, pad: int, dil: int) -> int:
    """Output length of one axis (PyTorch's formula); error when the kernel does not fit."""
    span = dil * (k - 1) + 1
    if n + 2 * pad < span:
        raise NetworkError(f"{owner}: kernel span {span} is larger than the padded input ({n} + 2 * {pad})")
    return (n + 2 * pad - span) // stride + 1


@dataclass(frozen=True, eq=False)
class SharedProjection:
    """One kernel shared by every output position (see the module docstring).

    ``in_shape``/``out_shape`` are the (C, H, W) or (C, L) shapes of ``pre``/``post``;
    ``kernel`` is int16 ``(out_c, in_c / groups, kh, kw)`` (1-D: ``kh = 1``); ``stride``,
    ``padding``, ``dilation`` are (h, w) pairs; ``delay`` (steps, 0..62) is the same for
    every synapse.  ``kind`` says how it was made (conv, sum_pool, avg_pool, reshape).
    Behaves like :class:`~chipemu.network.Projection` for readers: ``src``, ``dst``,
    ``weight``, ``delay`` are the expanded synapses (computed on each access).
    """

    name: str
    pre: str
    post: str
    pre_is_input: bool
    kind: str
    in_shape: tuple
    out_shape: tuple
    kernel: np.ndarray = field(repr=False)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    synapse_delay: int = 0
    plasticity: object = None

    # ------------------------------------------------------------ construction
    @classmethod
    def create(cls, name: str, pre, post, kind: str, kernel, *, stride=1, padding=0, dilation=1, groups=1,
               delay=0, in_shape=None, pre_is_input: bool = False) -> SharedProjection:
        """Validate the geometry against ``pre``/``post`` (groups with ``size``/``shape``)."""
        owner = f"projection '{name}'"
        if kind not in KINDS:
            raise NetworkError(f"{owner}: kind {kind!r} is not one of {', '.join(KINDS)}")
        ishape = check_shape(owner, in_shape if in_shape is not None else pre.dims, pre.size)
        oshape = post.dims
        k = np.asarray(kernel)
        if k.dtype == bool or not (np.issubdtype(k.dtype, np.integer) or
                                   (np.issubdtype(k.dtype, np.floating) and np.all(k == np.round(k)))):
            raise NetworkError(f"{owner}: kernel must hold integers, got dtype {k.dtype}")
        if kind == "reshape":
            if pre.size != post.size:
                raise NetworkError(f"{owner}: reshape needs groups of equal size, got {pre.size} and {post.size}")
            k = k.reshape(1, 1, 1, 1)
            geo = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
        else:
            c, h, w = _chw(owner, ishape, "input")
            two_d = len(ishape) == 3
            if k.ndim != (4 if two_d else 3):
                raise NetworkError(f"{owner}: kernel shape {k.shape} must be (out_c, in_c/groups, kh, kw) for "
                                   f"(C, H, W) input, (out_c, in_c/groups, k) for (C, L) input")
            if not two_d:
                k = k[:, :, None, :]
            if isinstance(groups, bool) or int(groups) != groups or groups < 1:
                raise NetworkError(f"{owner}: groups = {groups!r} must be an integer >= 1")
            groups = int(groups)
            oc, icg, kh, kw = k.shape
            if c % groups or oc % groups:
                raise NetworkError(f"{owner}: groups = {groups} must divide in channels {c} and out channels {oc}")
            if icg != c // groups:
                raise NetworkError(f"{owner}: kernel has {icg} input channels per group, expected "
                                   f"{c // groups} (in channels {c} / groups {groups})")
            sh, sw = _pair(owner, "stride", stride, 1)
            ph, pw = _pair(owner, "padding", padding, 0)
            dh, dw = _pair(owner, "dilation", dilation, 1)
            if not two_d:  # 1-D: the H axis is a dummy of length 1
                sh, ph, dh = 1, 0, 1
            want = (oc, out_size(owner, h, kh, sh, ph, dh), out_size(owner, w, kw, sw, pw, dw))
            got = _chw(owner, oshape, "output")
            if got != want:
                shown = want if two_d else (want[0], want[2])
                raise NetworkError(f"{owner}: output shape must be {shown} for this geometry, "
                                   f"population '{post.name}' has shape {oshape}")
            geo = {"stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw), "groups": groups}
        if k.size:
            lo, hi = neuron.WEIGHT_RANGE
            flat = k.reshape(-1).astype(np.int64)
            bad = (flat < lo) | (flat > hi) | (flat % 2 != 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise NetworkError(f"{owner}: kernel weight {int(flat[i])} (entry {i}) must be an even integer "
                                   f"in {lo}..{hi} (8-bit mixed sign)")
        lo, hi = neuron.DELAY_RANGE
        if isinstance(delay, bool) or np.ndim(delay) != 0 or int(delay) != delay or not lo <= int(delay) <= hi:
            raise NetworkError(f"{owner}: delay = {delay!r} must be one integer in {lo}..{hi} for a "
                               f"shared-weight projection")
        return cls(name=name, pre=pre.name, post=post.name, pre_is_input=pre_is_input, kind=kind,
                   in_shape=ishape, out_shape=tuple(oshape), kernel=k.astype(np.int16), synapse_delay=int(delay),
                   **geo)

    # ------------------------------------------------------------ geometry
    @property
    def in_chw(self) -> tuple[int, int, int]:
        if self.kind == "reshape":
            return 1, 1, int(np.prod(self.in_shape))
        return _chw(self.name, self.in_shape, "input")

    @property
    def out_chw(self) -> tuple[int, int, int]:
        if self.kind == "reshape":
            return 1, 1, int(np.prod(self.out_shape))
        return _chw(self.name, self.out_shape, "output")

    def _axis_taps(self, axis: int):
        """Per kernel index k along ``axis`` (0 = H, 1 = W): (output positions, input positions)."""
        n_in = self.in_chw[1 + axis]
        n_out = self.out_chw[1 + axis]
        k = self.kernel.shape[2 + axis]
        s, p, d = self.stride[axis], self.padding[axis], self.dilation[axis]
        if self.kind == "reshape":
            return [(np.arange(n_out), np.arange(n_in))]
        out = np.arange(n_out)
        taps = []
        for i in range(k):
            pos = out * s - p + i * d
            ok = (pos >= 0) & (pos < n_in)
            taps.append((out[ok], pos[ok]))
        return taps

    def __len__(self) -> int:
        """Number of synapses (computed from the geometry, without expanding)."""
        oc, icg, _, _ = self.kernel.shape
        rows = sum(o.size for o, _ in self._axis_taps(0))
        cols = sum(o.size for o, _ in self._axis_taps(1))
        return int(oc * icg * rows * cols)

    @property
    def kernel_entries(self) -> int:
        return int(self.kernel.size)

    def geometry(self) -> dict:
        """The geometry as plain values (networkx view, report)."""
        return {"kind": self.kind, "in_shape": list(self.in_shape), "out_shape": list(self.out_shape),
                "kernel_shape": list(self.kernel.shape), "stride": list(self.stride),
                "padding": list(self.padding), "dilation": list(self.dilation), "groups": self.groups,
                "delay": self.synapse_delay}

    def geom_row(self) -> list[int]:
        """The projection's row of the flat file's ``shared_geom`` (see GEOM_FIELDS)."""
        ic, ih, iw = self.in_chw
        oc, oh, ow = self.out_chw
        dims = 0 if self.kind == "reshape" else len(self.in_shape) - 1
        return [ic, ih, iw, oc, oh, ow, self.kernel.shape[2], self.kernel.shape[3], *self.stride, *self.padding,
                *self.dilation, self.groups, self.synapse_delay, dims]

    # ------------------------------------------------------------ expansion
    def synapses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(src, dst, weight)`` of every synapse: local int64 indices and int16 weights.

        Order: kernel tap (i, j), then output channel o, input channel c', then output
        position (y, x) -- the canonical synapse order of the projection.
        """
        oc, icg, _kh, _kw = self.kernel.shape
        c_in, h_in, w_in = self.in_chw
        _, h_out, w_out = self.out_chw
        if self.kind == "reshape":
            n = c_in * h_in * w_in
            return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64), np.full(n, self.kernel.flat[0], np.int16)
        per_group = oc // self.groups
        o = np.arange(oc, dtype=np.int64)
        # input channel of (o, c'): g(o) * icg + c'
        ch_in = ((o // per_group) * icg)[:, None] + np.arange(icg, dtype=np.int64)[None, :]      # (oc, icg)
        base_src = (ch_in * (h_in * w_in)).reshape(-1)
        base_dst = np.repeat(o * (h_out * w_out), icg)
        srcs, dsts, ws = [], [], []
        rows, cols = self._axis_taps(0), self._axis_taps(1)
        for i, (oy, iy) in enumerate(rows):
            for j, (ox, ix) in enumerate(cols):
                if oy.size == 0 or ox.size == 0:
                    continue
                out_sp = (oy[:, None] * w_out + ox[None, :]).reshape(-1)
                in_sp = (iy[:, None] * w_in + ix[None, :]).reshape(-1)
                srcs.append((base_src[:, None] + in_sp[None, :]).reshape(-1))
                dsts.append((base_dst[:, None] + out_sp[None, :]).reshape(-1))
                ws.append(np.repeat(self.kernel[:, :, i, j].reshape(-1), out_sp.size))
        if not srcs:
            z = np.zeros(0, np.int64)
            return z, z.copy(), np.zeros(0, np.int16)
        return np.concatenate(srcs), np.concatenate(dsts), np.concatenate(ws).astype(np.int16)

    @property
    def src(self) -> np.ndarray:
        return self.synapses()[0]

    @property
    def dst(self) -> np.ndarray:
        return self.synapses()[1]

    @property
    def weight(self) -> np.ndarray:
        return self.synapses()[2]

    @property
    def delay(self) -> np.ndarray:
        return np.full(len(self), self.synapse_delay, dtype=np.int8)


def pool_kernel(owner: str, channels: int, kernel_size, weight: int, mode: str, two_d: bool) -> np.ndarray:
    """The depthwise kernel ``(C, 1, kh, kw)`` of a sum or average pooling."""
    kh, kw = _pair(owner, "kernel_size", kernel_size, 1) if two_d else (1, _pair(owner, "kernel_size", kernel_size, 1)[1])
    if isinstance(weight, bool) or np.ndim(weight) != 0 or int(weight) != weight:
        raise NetworkError(f"{owner}: weight = {weight!r} must be one integer")
    w = int(weight)
    if mode == "avg":
        area = kh * kw
        if w % area or (w // area) % 2:
            raise NetworkError(f"{owner}: average pooling over {area} taps needs weight / {area} to be an even "
                               f"integer (got weight {w}); use a weight that is a multiple of {2 * area}")
        w //= area
    elif mode != "sum":
        raise NetworkError(f"{owner}: pooling mode {mode!r} must be 'sum' or 'avg'")
    return np.full((channels, 1, kh, kw), w, dtype=np.int64)


# ---------------------------------------------------------------- flat network blocks
@dataclass(frozen=True)
class SharedBlock:
    """A shared projection placed in the flat network.

    ``kind`` is ``rec`` (from compartments) or ``in`` (from input sources); ``at`` is the
    number of explicit synapses of that kind that come before it in canonical order;
    ``pre_start``/``post_start`` are the global offsets of its pre and post groups.
    """

    kind: str
    at: int
    pre_start: int
    post_start: int
    proj: SharedProjection

    def __len__(self) -> int:
        return len(self.proj)


def expand_blocks(explicit: tuple, blocks, kind: str) -> tuple[np.ndarray, ...]:
    """Canonical ``(src, dst, weight, delay)`` of one kind: explicit arrays with each
    block's expanded synapses inserted at ``block.at`` (global indices, int64)."""
    blocks = [b for b in blocks if b.kind == kind]
    if not blocks:
        return tuple(np.asarray(a, dtype=np.int64) for a in explicit)
    parts: list[list[np.ndarray]] = [[], [], [], []]
    prev = 0
    for b in blocks:
        for k in range(4):
            parts[k].append(np.asarray(explicit[k][prev:b.at], dtype=np.int64))
        s, d, w = b.proj.synapses()
        parts[0].append(s + b.pre_start)
        parts[1].append(d + b.post_start)
        parts[2].append(w.astype(np.int64))
        parts[3].append(np.full(s.size, b.proj.synapse_delay, dtype=np.int64))
        prev = b.at
    for k in range(4):
        parts[k].append(np.asarray(explicit[k][prev:], dtype=np.int64))
    return tuple(np.concatenate(p) for p in parts)

class SharedWeightBuilders:
    """The :class:`~chipemu.network.Network` methods that add shared-weight projections
    (a mixin: they use the network's ``_resolve``, ``_projection_name``, ``projections``)."""

    def add_shared_projection(self, pre, post, kind: str, kernel, name: str | None = None,
                              **geometry) -> SharedProjection:
        """Add a :class:`~chipemu.shared_weights.SharedProjection` of ``kind`` (conv,
        sum_pool, avg_pool, reshape) with ``kernel`` as stored; see :meth:`connect_conv`."""
        pre_g, post_g = self._resolve(pre, "pre"), self._resolve(post, "post")
        name = self._projection_name(name, pre_g, post_g)
        proj = SharedProjection.create(name, pre_g, post_g, kind, kernel,
                                       pre_is_input=hasattr(pre_g, "spike_idx"), **geometry)
        self.projections.append(proj)
        self._flat = None
        return proj

    def connect_conv(self, pre, post, kernel, *, stride=1, padding=0, dilation=1, groups=1, delay=0,
                     in_shape=None, name: str | None = None) -> SharedProjection:
        """Add a convolution (PyTorch ``conv2d``/``conv1d`` semantics) from ``pre`` to ``post``.

        ``kernel``: even integer weights, shape ``(out_c, in_c / groups, kh, kw)`` for a
        ``(C, H, W)`` pre, ``(out_c, in_c / groups, k)`` for a ``(C, L)`` pre; ``post`` must
        have the output shape.  ``in_shape`` views ``pre`` with another C-order shape (a
        reshape).  Stored as kernel + geometry (:mod:`chipemu.shared_weights`).
        """
        return self.add_shared_projection(pre, post, "conv", kernel, name, stride=stride, padding=padding,
                                dilation=dilation, groups=groups, delay=delay, in_shape=in_shape)

    def connect_pool(self, pre, post, kernel_size, *, weight: int, mode: str = "sum", stride=None, padding=0,
                     delay=0, in_shape=None, name: str | None = None) -> SharedProjection:
        """Add sum or average pooling per channel (PyTorch ``avg_pool2d`` geometry; ``stride``
        defaults to ``kernel_size``).  ``sum``: every synapse has ``weight``; ``avg``: every
        synapse has ``weight / (kh * kw)``, which must be an even integer."""
        pre_g = self._resolve(pre, "pre")
        shape = check_shape(f"projection from '{pre_g.name}'", in_shape if in_shape is not None else pre_g.dims,
                            pre_g.size)
        owner = f"pooling {pre_g.name!r} -> {post!r}"
        kernel = pool_kernel(owner, shape[0], kernel_size, weight, mode, len(shape) == 3)
        if len(shape) != 3:
            kernel = kernel[:, :, 0, :]
        return self.add_shared_projection(pre_g, post, f"{mode}_pool" if mode in ("sum", "avg") else mode, kernel, name,
                                stride=kernel_size if stride is None else stride, padding=padding,
                                groups=shape[0], delay=delay, in_shape=shape)

    def connect_reshape(self, pre, post, *, weight: int, delay=0, name: str | None = None) -> SharedProjection:
        """Add one synapse of ``weight`` from each element of ``pre`` to the element with the
        same C-order index in ``post`` (groups of equal size, any shapes)."""
        return self.add_shared_projection(pre, post, "reshape", np.array([weight]), name, delay=delay)
