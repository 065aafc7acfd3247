"""Handwritten digit classifier: a trained ReLU network converted to a rate-coded spiking one.

What it computes
    Data: scikit-learn's bundled 8x8 digits (``sklearn.datasets.load_digits``, 1,797
    images, 10 classes; no download).  A seeded shuffle holds out ``test_size`` images; the
    rest train a 64-``hidden``-10 ReLU network (numpy, Adam, softmax cross-entropy,
    ``epochs`` epochs, seeded; ~0.2 s).  The trained model is cached in memory per
    (hidden, epochs, test_size, seed).

    Conversion (rate coding, Rueckauer et al. 2017 data-based normalisation):
    * input: pixel intensity x in [0, 1] -> a regular spike train of x spikes per step
      (``coding="regular"``) or Bernoulli(x) per step (``coding="bernoulli"``, seeded);
    * layer weights are scaled by 254 / max|W| and rounded to even integers (8-bit);
    * compartments are non-leaky integrate-and-fire (``dv=0``, ``du=4095``: a spike's
      weight acts for one step); ReLU biases become compartment biases;
    * thresholds come from the training data: with lambda_l the 99.9th percentile of the
      layer's positive activations on the training set, a unit at lambda_1 fires at
      ``rate`` spikes per step in the hidden layer, and the top output at lambda_2 at
      ``rate`` too.
    The ``images`` first held-out images are presented for ``window`` steps, all at once:
    each image has its own copy of the converted network (Loihi compartments carry no
    reset between inputs, so one-after-another presentation would leak membrane state
    from image to image).  The class is the output with the most spikes (ties: the
    earliest first spike; no output spike at all counts as an error).

Parameters
    images=100, hidden=64, window=64, rate=0.5, coding="regular", epochs=50, test_size=500,
    seed=0.  Needs scikit-learn (``pip install scikit-learn``).

Check
    Spiking accuracy on the presented held-out images >= non-spiking accuracy on the same
    images - 5 percentage points.  Both accuracies are in the detail, and, when the run
    has a chip report, the chip's energy per inference (total energy / images) and the
    von Neumann baseline's.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.errors import ChipemuError

from programs import _common
from programs._common import attach_meta, bias_registers, energy_detail, even_weights, get_meta

MARGIN = 0.05          # spiking accuracy may trail the non-spiking model by this much
PERCENTILE = 99.9      # data-based normalisation
# In-memory cache of trained models (nothing is written to disk).  It lives in the shared
# helper module so it survives the program file being loaded again (chipemu.loading
# imports a program afresh each time).
_MODELS: dict = _common.MODEL_CACHE.setdefault("digits", {})


def _load_digits():
    return _common.load_digits_dataset("digits")


def forward(model: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(logits, hidden activations)`` of the non-spiking network."""
    h = np.maximum(x @ model["w1"] + model["c1"], 0.0)
    return h @ model["w2"] + model["c2"], h


def train(hidden: int = 64, epochs: int = 50, test_size: int = 500, seed: int = 0) -> dict:
    """Train (or fetch from the in-memory cache) the 64-hidden-10 ReLU network."""
    key = (hidden, epochs, test_size, seed)
    if key in _MODELS:
        return _MODELS[key]
    x, y = _load_digits()
    rng, tr, test = _common.train_test_split(len(y), test_size, seed)
    xtr, ytr = x[tr], y[tr]
    params = [rng.standard_normal((64, hidden)) * np.sqrt(2 / 64), np.zeros(hidden),
              rng.standard_normal((hidden, 10)) * np.sqrt(2 / hidden), np.zeros(10)]
    onehot = np.eye(10)[ytr]
    decay = 1e-4

    def grads_of(idx):
        xb, yb = xtr[idx], onehot[idx]
        w1, c1, w2, c2 = params
        z1 = xb @ w1 + c1
        h = np.maximum(z1, 0.0)
        z2 = h @ w2 + c2
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g2 = (p - yb) / len(idx)
        gh = (g2 @ w2.T) * (z1 > 0)
        return [xb.T @ gh + decay * w1, gh.sum(0), h.T @ g2 + decay * w2, g2.sum(0)]

    _common.adam_train(params, grads_of, len(ytr), epochs, rng)
    model = dict(w1=params[0], c1=params[1], w2=params[2], c2=params[3],
                 x_train=xtr, y_train=ytr, x_test=x[test], y_test=y[test])
    z_tr, h_tr = forward(model, xtr)
    model["lambda1"] = float(np.percentile(h_tr[h_tr > 0], PERCENTILE))
    model["lambda2"] = float(np.percentile(np.maximum(z_tr.max(axis=1), 0), PERCENTILE))
    _MODELS[key] = model
    return model


def _input_events(x: np.ndarray, window: int, coding: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spike events ``(source, step)`` for images ``x`` (n, 64); source = image * 64 + pixel."""
    if coding == "regular":
        t = np.arange(window)[:, None, None]
        fires = np.floor(x[None] * (t + 1) + 0.5) - np.floor(x[None] * t + 0.5) > 0
    elif coding == "bernoulli":
        fires = np.random.default_rng(seed + 7).random((window,) + x.shape) < x[None]
    else:
        raise ChipemuError(f"digits: coding = {coding!r} must be 'regular' or 'bernoulli'")
    step, img, pix = np.nonzero(fires)
    return img * x.shape[1] + pix, step


def build(images: int = 100, hidden: int = 64, window: int = 64, rate: float = 0.5, coding: str = "regular",
          epochs: int = 50, test_size: int = 500, seed: int = 0) -> Network:
    if not 1 <= images <= test_size:
        raise ChipemuError(f"digits: images = {images} must be in 1..test_size ({test_size})")
    if not 0 < rate <= 1:
        raise ChipemuError(f"digits: rate = {rate} must be in (0, 1] spikes per step")
    model = train(hidden, epochs, test_size, seed)
    x, y = model["x_test"][:images], model["y_test"][:images]
    lam1, lam2 = model["lambda1"], model["lambda2"]
    # layer 1: per-step input sum(w1q * s) with E[s] = x; threshold so that h = lam1 -> `rate`
    a1 = 254 / np.abs(model["w1"]).max()
    a2 = 254 / np.abs(model["w2"]).max()
    w1 = even_weights(a1 * model["w1"], "digits layer 1")
    w2 = even_weights(a2 * model["w2"], "digits layer 2")
    vth1 = int(round(lam1 * a1 / rate))
    # layer 2 sees hidden rates r = h * rate / lam1; output z = lam2 should fire at `rate`
    vth2 = int(round(lam2 * a2 / lam1))
    m1, e1 = bias_registers(model["c1"] * a1 * 64, "digits hidden bias")
    m2, e2 = bias_registers(model["c2"] * a2 * rate / lam1 * 64, "digits output bias")

    net = Network("digits", steps=window)
    hid = net.add_population("hidden", images * hidden, du=4095, dv=0, vth=vth1,
                             bias_mant=np.tile(m1, images), bias_exp=np.tile(e1, images))
    out = net.add_population("out", images * 10, du=4095, dv=0, vth=vth2,
                             bias_mant=np.tile(m2, images), bias_exp=np.tile(e2, images))
    idx, t = _input_events(x, window, coding, seed)
    pix = net.add_input("pixels", images * 64, idx, t)
    base = np.arange(images)[:, None]
    s, d = np.nonzero(w1)
    net.connect(pix, hid, "explicit", src=(base * 64 + s).ravel(), dst=(base * hidden + d).ravel(),
                weight=np.tile(w1[s, d], images), delay=0)
    s, d = np.nonzero(w2)
    net.connect(hid, out, "explicit", src=(base * hidden + s).ravel(), dst=(base * 10 + d).ravel(),
                weight=np.tile(w2[s, d], images), delay=0)
    logits, _ = forward(model, x)
    return attach_meta(net, "digits", labels=y, ann_pred=logits.argmax(axis=1), images=images,
                       quant_err=(float(np.abs(w1 / a1 - model["w1"]).max() / np.abs(model["w1"]).max()),
                                  float(np.abs(w2 / a2 - model["w2"]).max() / np.abs(model["w2"]).max())),
                       thresholds=(vth1, vth2))


def predict(result) -> np.ndarray:
    """Class per image from output spike counts (ties: earliest first spike; -1 if silent)."""
    net = result.network
    meta = get_meta(net, "digits")
    out = net.population("out")
    sel = result.spikes.select(out.start, out.stop)
    counts = sel.counts(out.size).reshape(meta["images"], 10)
    first = sel.first_spike(out.size).reshape(meta["images"], 10).astype(float)
    first[first < 0] = np.inf
    best = counts == counts.max(axis=1, keepdims=True)        # most spikes ...
    pred = np.where(best, first, np.inf).argmin(axis=1)         # ... then earliest, then lowest class
    pred = np.where(counts.max(axis=1) > 0, pred, -1)
    return pred


def check(result) -> tuple[bool, str]:
    meta = get_meta(result.network, "digits")
    y, n = meta["labels"], meta["images"]
    pred = predict(result)
    snn = float((pred == y).mean())
    ann = float((meta["ann_pred"] == y).mean())
    silent = int((pred < 0).sum())
    detail = (f"spiking accuracy {snn:.1%} vs non-spiking {ann:.1%} on {n} held-out images "
              f"(margin {MARGIN:.0%} points){f', {silent} images with no output spike' if silent else ''}; "
              f"weight quantisation error <= {max(meta['quant_err']):.2%} of max |W|, "
              f"vth {meta['thresholds'][0]}/{meta['thresholds'][1]}"
              + energy_detail(result, n, "inference"))
    return snn >= ann - MARGIN - 1e-12, detail
