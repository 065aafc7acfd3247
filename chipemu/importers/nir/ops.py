"""NIR's linear nodes as operators on C-order vectors, and their paths between neurons.

Every node between two spiking nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``,
``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Delay``, the Input/Output of an
inlined graph) is an :class:`Op` with an input and output shape.  A :class:`Chain` is the
ops on one path from a source (``Input`` or neuron node) to a neuron node; it becomes one
projection:

* **shared** (a conv projection, stored as kernel + geometry) when the chain holds one
  convolution or pooling and otherwise only reshapes, scalar scales and one whole-step
  delay;
* **explicit** synapses otherwise: the chain's ops composed as sparse maps (a pooling or
  conv expanded by :meth:`chipemu.shared_weights.SharedProjection.synapses`, never as a
  dense matrix), so a 100k-neuron graph imports without an n x n array.

Biases (``Affine``/``Conv`` ``bias``) are pushed through the ops that follow them and
end up as the target neurons' input bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from ... import neuron
from .graph import NIRImportError, Passthrough, io_shape, nir_module, tname, vec

#: linear node types (by class name)
LINEAR_TYPES = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay")


@dataclass
class SparseMap:
    """``y = M x`` for flat C-order vectors: entries ``M[rows[i], cols[i]] = vals[i]``."""

    n_out: int
    n_in: int
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray

    @classmethod
    def diagonal(cls, values: np.ndarray) -> SparseMap:
        idx = np.arange(values.size, dtype=np.int64)
        return cls(values.size, values.size, idx, idx.copy(), np.asarray(values, dtype=np.float64))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.rows, weights=self.vals * x[self.cols], minlength=self.n_out)

    def then(self, after: SparseMap) -> SparseMap:
        """``after`` composed with this map: ``after.M @ self.M`` (summing duplicate entries)."""
        order = np.argsort(after.cols, kind="stable")
        a_rows, a_cols, a_vals = after.rows[order], after.cols[order], after.vals[order]
        ptr = np.zeros(after.n_in + 1, dtype=np.int64)
        np.cumsum(np.bincount(a_cols, minlength=after.n_in), out=ptr[1:])
        counts = ptr[self.rows + 1] - ptr[self.rows]
        total = int(counts.sum())
        if total == 0:
            z = np.zeros(0, np.int64)
            return SparseMap(after.n_out, self.n_in, z, z.copy(), np.zeros(0))
        pos = np.repeat(ptr[self.rows] - np.cumsum(counts) + counts, counts) + np.arange(total)
        rows = a_rows[pos]
        cols = np.repeat(self.cols, counts)
        vals = a_vals[pos] * np.repeat(self.vals, counts)
        key, inv = np.unique(rows * self.n_in + cols, return_inverse=True)
        return SparseMap(after.n_out, self.n_in, key // self.n_in, key % self.n_in,
                         np.bincount(inv.reshape(-1), weights=vals))


@dataclass
class Op:
    """One linear node: ``kind`` is reshape, scale, dense, conv or delay."""

    key: str
    node: object
    kind: str
    in_shape: tuple
    out_shape: tuple
    bias: np.ndarray | None = None       # added after the op (n_out,)
    scale: np.ndarray | None = None      # scale: per element (n,)
    weight: np.ndarray | None = None     # dense (out, in)
    kernel: np.ndarray | None = None     # conv: (oc, icg, kh, kw) float
    geometry: dict = field(default_factory=dict)   # conv: stride, padding, dilation, groups
    conv_in: tuple = ()                  # conv: the (C, H, W) or (C, L) view of the input
    delay: np.ndarray | None = None      # delay: whole steps per element

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    def sparse(self) -> SparseMap:
        if self.kind in ("reshape", "delay"):
            return SparseMap.diagonal(np.ones(self.n_in))
        if self.kind == "scale":
            return SparseMap.diagonal(self.scale)
        if self.kind == "dense":
            rows, cols = np.nonzero(self.weight)
            return SparseMap(self.n_out, self.n_in, rows.astype(np.int64), cols.astype(np.int64),
                             self.weight[rows, cols])
        return conv_sparse(self)


def conv_sparse(op: Op) -> SparseMap:
    """A conv op's synapses, expanded by the shared-weight projection of chipemu, with the
    float kernel entry of each (recovered from its source and target positions)."""
    from ...shared_weights import SharedProjection

    oc, icg, kh, kw = op.kernel.shape
    two_d = len(op.conv_in) == 3
    in_shape = op.conv_in
    c = in_shape[0]
    pre = SimpleNamespace(name="pre", size=op.n_in, dims=in_shape)
    post = SimpleNamespace(name="post", size=op.n_out, dims=op.out_shape)
    probe = np.full((oc, icg, kh, kw) if two_d else (oc, icg, kw), 2, dtype=np.int64)
    proj = SharedProjection.create("nir", pre, post, "conv", probe, **op.geometry)
    src, dst, _ = proj.synapses()
    _, h, w = proj.in_chw
    _, oh, ow = proj.out_chw
    o, rest = np.divmod(dst, oh * ow)
    oy, ox = np.divmod(rest, ow)
    ci, rest = np.divmod(src, h * w)
    iy, ix = np.divmod(rest, w)
    (sh, sw), (ph, pw), (dh, dw) = proj.stride, proj.padding, proj.dilation
    i = (iy - oy * sh + ph) // dh
    j = (ix - ox * sw + pw) // dw
    cp = ci - (o // (oc // proj.groups)) * (c // proj.groups)
    vals = op.kernel[o, cp, i, j]
    return SparseMap(op.n_out, op.n_in, dst, src, vals.astype(np.float64))


def _spatial(key: str, node, shape: tuple, channels: int, dims: int, declared) -> tuple:
    """The ``(C, *spatial)`` view of an input of ``shape`` for a conv/pool with ``dims``
    spatial axes: leading 1s (a batch axis) are dropped, a flat input is split by channels."""
    n = int(np.prod(shape))
    s = tuple(shape)
    while len(s) > dims + 1 and s[0] == 1:
        s = s[1:]
    if len(s) != dims + 1:
        if declared is not None and len(declared) == dims and channels * int(np.prod(declared)) == n:
            s = (channels, *declared)
        else:
            raise NIRImportError(f"node '{key}' ({tname(node)}): cannot view an input of shape {tuple(shape)} as "
                                 f"(C, {'H, W' if dims == 2 else 'L'})")
    if channels and s[0] != channels:
        raise NIRImportError(f"node '{key}' ({tname(node)}): expects {channels} input channels, gets shape {s}")
    return s


def _geometry(key, node, value, dims: int, default: int, name: str) -> tuple[int, ...]:
    arr = np.asarray(value if value is not None else default).reshape(-1)
    if arr.dtype.kind in "US":
        raise NIRImportError(f"node '{key}' ({tname(node)}): {name} = {value!r} is not supported; give numbers")
    if arr.size == 1:
        arr = np.repeat(arr, dims)
    if arr.size != dims or np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise NIRImportError(f"node '{key}' ({tname(node)}): {name} = {value!r} must be {dims} whole numbers >= 0")
    return tuple(int(a) for a in arr)


def _conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _padding(key, node, value, kernel, dilation, dims):
    if isinstance(value, str):
        if value == "valid":
            return (0,) * dims
        if value == "same" and all(((k - 1) * d) % 2 == 0 for k, d in zip(kernel, dilation)):
            return tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation))
        raise NIRImportError(f"node '{key}' ({tname(node)}): padding {value!r} is not supported")
    return _geometry(key, node, value, dims, 0, "padding")


def make_conv(key: str, node, shape: tuple) -> Op:
    dims = 2 if tname(node) == "Conv2d" else 1
    w = np.asarray(node.weight, dtype=np.float64)
    if w.ndim != dims + 2 or not np.all(np.isfinite(w)):
        raise NIRImportError(f"node '{key}' ({tname(node)}): weight shape {w.shape} must be (out, in/groups, "
                             f"{'kH, kW' if dims == 2 else 'k'}) and finite")
    groups = int(np.asarray(node.groups).reshape(-1)[0]) if node.groups is not None else 1
    declared = tuple(int(s) for s in np.asarray(node.input_shape).reshape(-1)) if node.input_shape is not None else None
    conv_in = _spatial(key, node, shape, w.shape[1] * groups, dims, declared)
    stride = _geometry(key, node, node.stride, dims, 1, "stride")
    dilation = _geometry(key, node, node.dilation, dims, 1, "dilation")
    padding = _padding(key, node, node.padding, w.shape[2:], dilation, dims)
    out_sp = tuple(_conv_out(n, k, s, p, d) for n, k, s, p, d in zip(conv_in[1:], w.shape[2:], stride, padding, dilation))
    if any(o < 1 for o in out_sp):
        raise NIRImportError(f"node '{key}' ({tname(node)}): the kernel does not fit the input {conv_in}")
    out_shape = (w.shape[0], *out_sp)
    kernel = w if dims == 2 else w[:, :, None, :]
    bias = np.repeat(vec(key, node, "bias", node.bias, w.shape[0]), int(np.prod(out_sp)))
    if dims == 1:  # the shared projection's 1-D case: a dummy H axis of length 1
        stride, padding, dilation = (1, *stride), (0, *padding), (1, *dilation)
    return Op(key, node, "conv", tuple(shape), out_shape, bias=bias, kernel=kernel, conv_in=conv_in,
              geometry={"stride": stride, "padding": padding, "dilation": dilation, "groups": groups})


def make_pool(key: str, node, shape: tuple) -> Op:
    """Sum/average pooling per channel: a depth-wise conv with kernel 1 or 1/(kh kw)."""
    conv_in = _spatial(key, node, shape, 0, 2, None)
    ksize = _geometry(key, node, node.kernel_size, 2, 1, "kernel_size")
    stride = _geometry(key, node, node.stride if node.stride is not None else node.kernel_size, 2, 1, "stride")
    padding = _geometry(key, node, node.padding, 2, 0, "padding")
    c = conv_in[0]
    value = 1.0 if tname(node) == "SumPool2d" else 1.0 / (ksize[0] * ksize[1])
    out_shape = (c, *(_conv_out(n, k, s, p, 1) for n, k, s, p in zip(conv_in[1:], ksize, stride, padding)))
    if min(out_shape) < 1:
        raise NIRImportError(f"node '{key}' ({tname(node)}): the window does not fit the input {conv_in}")
    return Op(key, node, "conv", tuple(shape), out_shape, kernel=np.full((c, 1, *ksize), value), conv_in=conv_in,
              geometry={"stride": stride, "padding": padding, "dilation": (1, 1), "groups": c})


def make_op(key: str, node, shape: tuple, dt: float) -> Op:
    """The operator of linear node ``node`` fed with values of ``shape``."""
    n = int(np.prod(shape))
    kind = tname(node)
    if isinstance(node, Passthrough):
        return Op(key, node, "reshape", tuple(shape), tuple(shape))
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 2:
            raise NIRImportError(f"node '{key}' ({kind}): weight has shape {w.shape}; only 2-D (out, in) weight "
                                 "matrices are supported")
        if w.shape[1] != n:
            raise NIRImportError(f"node '{key}' ({kind}): weight shape {w.shape} does not take {n} inputs")
        if not np.all(np.isfinite(w)):
            raise NIRImportError(f"node '{key}' ({kind}): weight is not finite")
        bias = vec(key, node, "bias", node.bias, w.shape[0]) if kind == "Affine" else None
        return Op(key, node, "dense", tuple(shape), (w.shape[0],), bias=bias, weight=w)
    if kind == "Scale":
        return Op(key, node, "scale", tuple(shape), tuple(shape), scale=vec(key, node, "scale", node.scale, n))
    if kind == "Flatten":
        out = io_shape(node, "output")
        return Op(key, node, "reshape", tuple(shape), out if out and int(np.prod(out)) == n else (n,))
    if kind in ("Conv1d", "Conv2d"):
        return make_conv(key, node, shape)
    if kind in ("SumPool2d", "AvgPool2d"):
        return make_pool(key, node, shape)
    if kind == "Delay":
        d = vec(key, node, "delay", node.delay, n) / dt
        k = np.round(d)
        lo, hi = neuron.DELAY_RANGE
        bad = (np.abs(d - k) > 1e-6 * np.maximum(1.0, np.abs(d))) | (k < lo) | (k > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NIRImportError(f"node '{key}' (Delay): delay = {d[i] * dt:g} s = {d[i]:g} steps of dt = {dt:g} s "
                                 f"(at index {i}); Loihi delays are whole steps in {lo}..{hi}")
        return Op(key, node, "delay", tuple(shape), tuple(shape), delay=k.astype(np.int64))
    raise AssertionError(kind)


def is_linear(node) -> bool:
    return isinstance(node, Passthrough) or (tname(node) in LINEAR_TYPES
                                             and isinstance(node, getattr(nir_module(), tname(node))))


@dataclass
class Chain:
    """The ops on one path from ``src`` to the neuron node ``dst``."""

    src: str
    dst: str
    ops: list

    @property
    def weight_ops(self) -> list:
        return [op for op in self.ops if op.kind in ("dense", "conv")]

    @property
    def owner(self) -> str:
        w = self.weight_ops
        return w[-1].key if w else f"{self.src}->{self.dst}"

    def bias(self) -> np.ndarray:
        """The constant input the chain adds to its target (biases pushed through the ops)."""
        b = None
        for op in self.ops:
            if b is not None:
                b = op.sparse().apply(b) if op.kind in ("dense", "conv", "scale") else b
            if op.bias is not None:
                b = op.bias.copy() if b is None else b + op.bias
        return b if b is not None else np.zeros(self.ops[-1].n_out if self.ops else 0)

    def delays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(per source, per target)`` whole-step delays: Delay nodes before the first
        mixing op delay the sources, after the last one the targets; one in between must
        be uniform."""
        mixing = [i for i, op in enumerate(self.ops) if op.kind in ("dense", "conv")]
        first, last = (mixing[0], mixing[-1]) if mixing else (len(self.ops), -1)
        n_src = self.ops[0].n_in if self.ops else 0
        n_dst = self.ops[-1].n_out if self.ops else 0
        pre, post = np.zeros(n_src, np.int64), np.zeros(n_dst, np.int64)
        for i, op in enumerate(self.ops):
            if op.kind != "delay":
                continue
            if i < first:
                pre = pre + op.delay
            elif i > last:
                post = post + op.delay
            elif np.all(op.delay == op.delay[0]):
                post = post + int(op.delay[0])
            else:
                raise NIRImportError(f"node '{op.key}' (Delay): per-element delays between two weight nodes are "
                                     "not supported")
        return pre, post

    def shared_conv(self) -> Op | None:
        """The one conv op when the chain can be a shared projection, else None."""
        weights = self.weight_ops
        if len(weights) != 1 or weights[0].kind != "conv":
            return None
        for op in self.ops:
            if op.kind == "scale" and not np.all(op.scale == op.scale[0]):
                return None
        pre, post = self.delays()
        if (pre.size and np.any(pre != pre[0])) or (post.size and np.any(post != post[0])):
            return None
        return weights[0]

    def uniform_scale(self) -> float:
        s = 1.0
        for op in self.ops:
            if op.kind == "scale":
                s *= float(op.scale[0])
        return s

    def sparse(self) -> SparseMap:
        m = None
        for op in self.ops:
            if op.kind in ("reshape", "delay"):
                continue
            s = op.sparse()
            m = s if m is None else m.then(s)
        return m if m is not None else SparseMap.diagonal(np.ones(self.ops[0].n_in if self.ops else 0))
