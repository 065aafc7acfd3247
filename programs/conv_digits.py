"""Convolutional digit classifier: a trained conv ReLU network converted to a spiking one.

What it computes
    Data: scikit-learn's bundled 8x8 digits (``sklearn.datasets.load_digits``, 1,797
    images; no download).  A seeded shuffle holds out ``test_size`` images; the rest train
    (numpy, Adam, softmax cross-entropy, ``epochs`` epochs, seeded; about a second)::

        conv 3x3, ``channels`` filters, padding 1 -> ReLU -> average pool 2x2 -> dense 10

    (PyTorch layout: kernel (channels, 1, 3, 3), activations (C, H, W)).  The trained model
    is cached in memory per (channels, epochs, test_size, seed).

    Conversion (rate coding with data-based normalisation, as in ``programs/digits.py``):
    * input: pixel intensity x in [0, 1] -> a regular spike train of x spikes per step;
    * the convolution is one shared-weight projection (``Network.connect_conv``: the
      kernel is stored once, never expanded), its kernel scaled by 254 / max|K| and
      rounded to even integers; conv compartments are non-leaky integrate-and-fire with
      the ReLU bias as compartment bias and the threshold that makes the 99.9th
      percentile activation (training set) fire at ``rate`` spikes per step;
    * the 2x2 average pooling is a pooling projection (``connect_pool(mode="avg")``,
      weight 248: 62 per synapse) onto IF compartments of threshold 248, which fire at
      the mean rate of their four inputs;
    * the dense read-out is explicit synapses from the pooled map (flattened in C order,
      as PyTorch's ``flatten``) to 10 outputs per image.
    The ``images`` first held-out images run side by side: image i is input channel i, and
    the convolution has ``groups = images`` (each image its own copy of the kernel rows),
    so no membrane state leaks between images.  The class is the output with the most
    spikes (ties: the earliest first spike; no output spike counts as an error).

    On the chip the convolution and the pooling use the conv (shared-weight) synapse
    encoding, the read-out the sparse one (``mapping.json`` ``encoding.projections``).

Parameters
    images=50, channels=8, window=64, rate=0.5, epochs=15, test_size=500, seed=0.
    Needs scikit-learn.

Check
    Spiking accuracy on the presented held-out images >= the float conv network's accuracy
    on the same images - 5 percentage points; both accuracies in the detail, with the
    chip's energy per inference when the run has a chip report.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.errors import ChipemuError
from programs import _common
from programs._common import (
    attach_meta,
    bias_registers,
    energy_detail,
    even_weights,
    get_meta,
)

MARGIN = 0.05          # spiking accuracy may trail the float model by this much
PERCENTILE = 99.9      # data-based normalisation
POOL_WEIGHT = 248      # average pooling: 62 per synapse over 4 taps; pool threshold 248
_MODELS: dict = _common.MODEL_CACHE.setdefault("conv_digits", {})


def _load_digits():
    x, y = _common.load_digits_dataset("conv_digits")
    return x.reshape(-1, 8, 8), y


def _patches(x: np.ndarray) -> np.ndarray:
    """(B, 64, 9): the 3x3 neighbourhood (zero padded) of every pixel of (B, 8, 8) images."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    return np.stack([xp[:, i:i + 8, j:j + 8].reshape(len(x), 64) for i in range(3) for j in range(3)], axis=2)


def forward(model: dict, x: np.ndarray):
    """``(logits, conv activations (B, C, 8, 8), pooled (B, C*16))`` of the float network."""
    k = model["k"].reshape(len(model["b"]), 9)
    z = np.einsum("bpt,ct->bcp", _patches(x), k) + model["b"][None, :, None]
    h = np.maximum(z, 0.0).reshape(len(x), -1, 8, 8)
    pooled = h.reshape(len(x), -1, 4, 2, 4, 2).mean(axis=(3, 5)).reshape(len(x), -1)
    return pooled @ model["w"] + model["c"], h, pooled


def train(channels: int = 8, epochs: int = 15, test_size: int = 500, seed: int = 0) -> dict:
    """Train (or fetch from the in-memory cache) the conv network."""
    key = (channels, epochs, test_size, seed)
    if key in _MODELS:
        return _MODELS[key]
    x, y = _load_digits()
    rng, tr, test = _common.train_test_split(len(y), test_size, seed)
    xtr, ytr = x[tr], y[tr]
    feat = channels * 16
    params = [rng.standard_normal((channels, 9)) * np.sqrt(2 / 9), np.zeros(channels),
              rng.standard_normal((feat, 10)) * np.sqrt(2 / feat), np.zeros(10)]
    onehot = np.eye(10)[ytr]
    pt = _patches(xtr)
    decay = 1e-4

    def grads_of(idx):
        pb, yb = pt[idx], onehot[idx]
        k, b, w, c = params
        z = np.einsum("bpt,ct->bcp", pb, k) + b[None, :, None]           # (B, C, 64)
        h = np.maximum(z, 0.0)
        pooled = h.reshape(len(idx), channels, 4, 2, 4, 2).mean(axis=(3, 5)).reshape(len(idx), feat)
        out = pooled @ w + c
        p = np.exp(out - out.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g_out = (p - yb) / len(idx)
        g_pool = (g_out @ w.T).reshape(len(idx), channels, 4, 1, 4, 1) / 4.0
        g_h = np.broadcast_to(g_pool, (len(idx), channels, 4, 2, 4, 2)).reshape(len(idx), channels, 64)
        g_z = g_h * (z > 0)
        return [np.einsum("bcp,bpt->ct", g_z, pb) + decay * k, g_z.sum(axis=(0, 2)),
                pooled.T @ g_out + decay * w, g_out.sum(0)]

    _common.adam_train(params, grads_of, len(ytr), epochs, rng)
    model = dict(k=params[0].reshape(channels, 1, 3, 3), b=params[1], w=params[2], c=params[3],
                 x_test=x[test], y_test=y[test])
    z_tr, h_tr, _ = forward(model, xtr)
    model["lambda1"] = float(np.percentile(h_tr[h_tr > 0], PERCENTILE))
    model["lambda2"] = float(np.percentile(np.maximum(z_tr.max(axis=1), 0), PERCENTILE))
    _MODELS[key] = model
    return model


def _input_events(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Regular spike trains ``(source, step)`` of images (n, 8, 8); source = image * 64 + pixel."""
    flat = x.reshape(len(x), 64)
    t = np.arange(window)[:, None, None]
    fires = np.floor(flat[None] * (t + 1) + 0.5) - np.floor(flat[None] * t + 0.5) > 0
    step, img, pix = np.nonzero(fires)
    return img * 64 + pix, step


def build(images: int = 50, channels: int = 8, window: int = 64, rate: float = 0.5, epochs: int = 15,
          test_size: int = 500, seed: int = 0) -> Network:
    if not 1 <= images <= test_size:
        raise ChipemuError(f"conv_digits: images = {images} must be in 1..test_size ({test_size})")
    if not 0 < rate <= 1:
        raise ChipemuError(f"conv_digits: rate = {rate} must be in (0, 1] spikes per step")
    if not 1 <= channels <= 64:
        raise ChipemuError(f"conv_digits: channels = {channels} must be in 1..64")
    from chipemu.bounded import check_int, check_memory
    for name, value in (("images", images), ("window", window), ("epochs", epochs), ("test_size", test_size)):
        check_int(value, f"conv_digits: {name}", 0, 2**31 - 1)
    # before anything is built: the input spike mask (window x pixels) and the network
    check_memory(window * images * 64 * 2 + images * channels * (64 * 9 + 16 * 4 + 16 * 10) * 40,
                 f"conv_digits: {images:,} images x {window:,} steps")
    model = train(channels, epochs, test_size, seed)
    x, y = model["x_test"][:images], model["y_test"][:images]
    lam1, lam2 = model["lambda1"], model["lambda2"]
    a1 = 254 / np.abs(model["k"]).max()
    a2 = 254 / np.abs(model["w"]).max()
    k = even_weights(a1 * model["k"], "conv_digits kernel")
    w = even_weights(a2 * model["w"], "conv_digits read-out")
    vth1 = int(round(lam1 * a1 / rate))
    vth2 = int(round(lam2 * a2 / lam1))   # pooled rates are conv rates averaged: r = h * rate / lam1
    m1, e1 = bias_registers(model["b"] * a1 * 64, "conv_digits conv bias")
    m2, e2 = bias_registers(model["c"] * a2 * rate / lam1 * 64, "conv_digits output bias")

    net = Network("conv_digits", steps=window)
    idx, t = _input_events(x, window)
    net.add_input("pixels", (images, 8, 8), idx, t)
    per_conv = channels * 64
    conv = net.add_population("conv", (images * channels, 8, 8), du=4095, dv=0, vth=vth1,
                              bias_mant=np.tile(np.repeat(m1, 64), images),
                              bias_exp=np.tile(np.repeat(e1, 64), images))
    net.connect_conv("pixels", conv, np.tile(k, (images, 1, 1, 1)), padding=1, groups=images)
    pool = net.add_population("pool", (images * channels, 4, 4), du=4095, dv=0, vth=POOL_WEIGHT)
    net.connect_pool(conv, pool, 2, weight=POOL_WEIGHT, mode="avg")
    out = net.add_population("out", images * 10, du=4095, dv=0, vth=vth2,
                             bias_mant=np.tile(m2, images), bias_exp=np.tile(e2, images))
    feat = channels * 16
    s, d = np.nonzero(w)
    base = np.arange(images)[:, None]
    net.connect(pool, out, "explicit", src=(base * feat + s).ravel(), dst=(base * 10 + d).ravel(),
                weight=np.tile(w[s, d], images), delay=0)
    logits, _, _ = forward(model, x)
    assert conv.size == images * per_conv
    return attach_meta(net, "conv_digits", labels=y, ann_pred=logits.argmax(axis=1), images=images,
                       quant_err=(float(np.abs(k / a1 - model["k"]).max() / np.abs(model["k"]).max()),
                                  float(np.abs(w / a2 - model["w"]).max() / np.abs(model["w"]).max())),
                       thresholds=(vth1, POOL_WEIGHT, vth2))


def predict(result) -> np.ndarray:
    """Class per image from output spike counts (ties: earliest first spike; -1 if silent)."""
    net = result.network
    meta = get_meta(net, "conv_digits")
    out = net.population("out")
    sel = result.spikes.select(out.start, out.stop)
    counts = sel.counts(out.size).reshape(meta["images"], 10)
    first = sel.first_spike(out.size).reshape(meta["images"], 10).astype(float)
    first[first < 0] = np.inf
    best = counts == counts.max(axis=1, keepdims=True)
    pred = np.where(best, first, np.inf).argmin(axis=1)
    return np.where(counts.max(axis=1) > 0, pred, -1)


def check(result) -> tuple[bool, str]:
    meta = get_meta(result.network, "conv_digits")
    y, n = meta["labels"], meta["images"]
    pred = predict(result)
    snn = float((pred == y).mean())
    ann = float((meta["ann_pred"] == y).mean())
    silent = int((pred < 0).sum())
    enc = ""
    report = getattr(result, "report", None)
    if report:
        used = (report.get("mapping", {}).get("encoding") or {}).get("projections") or {}
        if used:
            enc = "; synapse encodings " + ", ".join(f"{k}: {v}" for k, v in used.items())
    detail = (f"spiking accuracy {snn:.1%} vs float conv network {ann:.1%} on {n} held-out images "
              f"(margin {MARGIN:.0%} points){f', {silent} images with no output spike' if silent else ''}; "
              f"weight quantisation error <= {max(meta['quant_err']):.2%} of max |W|, "
              f"vth {'/'.join(str(v) for v in meta['thresholds'])}" + enc
              + energy_detail(result, n, "inference"))
    return snn >= ann - MARGIN - 1e-12, detail
