"""A sigma-delta network (graded spikes) tracking a video-like signal, and its LIF twin.

What it computes
    ``inputs`` pixel intensities x_c(f) in [0.1, 0.9] (slow sinusoids, seeded periods and
    phases) over ``frames`` frames; between ``still_from`` and ``still_to`` the picture
    does not change.  A two-layer ReLU network with seeded integer weights maps every frame
    to ``outputs`` values::

        h = relu(W1 @ (X * x) + B),   y = W2 @ h          (X = ``x_scale``; the float model)

    W1 (``hidden`` x ``inputs``) is mixed-sign, W2 non-negative, both even integers
    (chipemu's 8-bit weights); B is the hidden bias.

``mode = "sdnn"`` (Loihi 2's sigma-delta network, one step per frame)
    An input group sends round(X * x) each step as a graded payload; ``delta`` encoders
    turn it into changes, a ``sigma_delta`` hidden layer (ReLU, bias B) re-encodes its
    activation as changes, a ``sigma`` output layer accumulates them: its payload at step
    f + 3 is y(f) up to the deltas' threshold error.  Encoders and hidden neurons send a
    message only when their value moved by at least ``vth``, so activity follows the
    change of the picture: the still segment is quiet.  spike_exp = state_exp = 6, as
    lava-dl's netx sets them; the encoder's synapse has weight 2, so it runs with
    spike_exp 5 and twice the threshold (the same arithmetic as weight 1, spike_exp 6).
``mode = "lif"`` (the same network with binary CUBA LIF spikes, ``window`` steps per frame)
    Inputs fire regular spike trains at x spikes per step; hidden and output neurons are
    integrate-and-fire neurons: the current u low-pass filters the spikes (du = 255, a gain
    of 16), the voltage integrates it without leak (dv = 0), and both are cleared at each
    frame start (periodic reset) so that a negative drive does not pile up.  A neuron's rate
    is then relu(drive) / threshold, and the output's rate is proportional to y; it is
    decoded from the spike counts of the second half of each frame (the filters have
    settled).  Thresholds are set from the float model so that no rate exceeds 1/16 spike
    per step: Loihi resets v to 0 (the overshoot is lost), so a neuron driven at r fires at
    about 1 / ceil(1 / r), close to r only for small r -- why rate coding needs long windows.

Parameters
    inputs=16, hidden=16, outputs=4, frames=120, still_from=40, still_to=80, x_scale=32,
    vth=2 (sdnn delta threshold, in units of x_scale), window=256 (lif steps per frame),
    mode="sdnn", seed=0.

Check
    The decoded outputs of frames 4.. (sdnn; lif: every frame) agree with the float model:
    RMS error <= 3% (sdnn) or 12% (lif) of the RMS output.  sdnn also needs the still
    segment to be quiet: hidden-layer messages per frame there (after 3 frames of settling)
    at most 10% of those in the moving part.  The detail reports both, the messages per
    frame and, on a chip run, energy per frame.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.errors import ChipemuError

from programs._common import attach_meta, bias_registers, bias_value, energy_detail, even_weights, get_meta

SPIKE_EXP = STATE_EXP = 6
TOL = {"sdnn": 0.03, "lif": 0.12}
QUIET = 0.10
SETTLE = 3
MAX_RATE = 1 / 16  # lif: highest rate (spikes per step); v resets to 0, so a rate r is really 1/ceil(1/r)
DU = 255           # lif: u keeps 15/16 per step: a low-pass filter of gain GAIN on the input spikes
GAIN = 4096 // (DU + 1)
LAG = 3  # input event at step f -> delta f+1 -> hidden f+2 -> sigma f+3


def signals(inputs: int, frames: int, still_from: int, still_to: int, rng) -> np.ndarray:
    """(frames, inputs) intensities in [0.1, 0.9], held constant over [still_from, still_to)."""
    period = rng.uniform(15, 60, inputs)
    phase = rng.uniform(0, 2 * np.pi, inputs)
    f = np.arange(frames)[:, None].astype(float)
    x = 0.5 + 0.4 * np.sin(2 * np.pi * f / period + phase)
    if 0 <= still_from < still_to <= frames:
        x[still_from:still_to] = x[still_from]
    return x


def float_model(W1, B, W2, X):
    """(frames, outputs) outputs of the ReLU network for scaled inputs X (frames, inputs)."""
    h = np.maximum(X @ W1.T + B, 0.0)
    return h @ W2.T, h


def build(inputs: int = 16, hidden: int = 16, outputs: int = 4, frames: int = 120, still_from: int = 40,
          still_to: int = 80, x_scale: int = 32, vth: int = 2, window: int = 256, mode: str = "sdnn",
          seed: int = 0) -> Network:
    if mode not in TOL:
        raise ChipemuError(f"sdnn_video: mode = {mode!r} (allowed: sdnn, lif)")
    for name, v in (("inputs", inputs), ("hidden", hidden), ("outputs", outputs), ("frames", frames),
                    ("x_scale", x_scale), ("vth", vth), ("window", window)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ChipemuError(f"sdnn_video: {name} = {v!r} must be an integer >= 1")
    rng = np.random.default_rng(seed)
    x = signals(inputs, frames, still_from, still_to, rng)
    W1 = even_weights(rng.normal(0, 40, (hidden, inputs)).clip(-250, 250), "W1")
    W2 = even_weights(rng.uniform(0, 16, (outputs, hidden)), "W2")
    B = rng.normal(0, 0.3, hidden) * x_scale * np.abs(W1).sum(axis=1) * 0.5
    if mode == "sdnn":
        B = np.round(B / 2**STATE_EXP) * 2**STATE_EXP  # the bias register counts units of 2**state_exp
        net = _build_sdnn(x, W1, B, W2, x_scale, vth, frames)
    else:
        # LIF inputs arrive as a << 6 (X = 64) through u's gain GAIN; the bias adds to v directly
        bm, be = bias_registers(B * 64 / x_scale * GAIN, "hidden bias")
        B = bias_value(bm, be) * x_scale / 64 / GAIN
        net = _build_lif(x, W1, bm, be, W2, window, x_scale)
    y, _ = float_model(W1, B, W2, x * x_scale)
    return attach_meta(net, "sdnn_video", mode=mode, y=y, frames=frames, still=(still_from, still_to),
                       window=window, scales=net.program_scales)


def _build_sdnn(x, W1, B, W2, x_scale, vth, frames) -> Network:
    inputs, hidden, outputs = W1.shape[1], W1.shape[0], W2.shape[0]
    X = np.round(x * x_scale).astype(np.int64)  # >= 0.1 * x_scale > 0: every payload is non-zero
    net = Network("sdnn_video", steps=frames + LAG + 1)
    idx = np.tile(np.arange(inputs), frames)
    t = np.repeat(np.arange(frames), inputs)
    src = net.add_input("pixels", inputs, idx, t, spike_val=X.reshape(-1))
    enc = net.add_population("encode", inputs, model="delta", vth=2 * vth, spike_exp=SPIKE_EXP - 1,
                             state_exp=STATE_EXP)
    hid = net.add_population("hidden", hidden, model="sigma_delta", vth=vth, bias=(B / 2**STATE_EXP).astype(int),
                             spike_exp=SPIKE_EXP, state_exp=STATE_EXP, act_mode=1)
    out = net.add_population("out", outputs, model="sigma")
    net.connect(src, enc, "one_to_one", weight=2)
    net.connect(enc, hid, "all_to_all", weight=W1.T.reshape(-1))
    net.connect(hid, out, "all_to_all", weight=W2.T.reshape(-1))
    net.program_scales = {"y": 1.0}
    return net


def _build_lif(x, W1, bm, be, W2, window, x_scale) -> Network:
    inputs, hidden, outputs = W1.shape[1], W1.shape[0], W2.shape[0]
    frames = x.shape[0]
    _, h = float_model(W1, bias_value(bm, be) / GAIN, W2, x * 64)  # inputs enter as a << 6 per spike
    vh = int(np.ceil(GAIN * h.max() / 64 / MAX_RATE))       # hidden rate G h / (vh << 6) <= MAX_RATE
    rate_h = GAIN * h / (vh * 64)
    vo = int(np.ceil(GAIN * (rate_h @ W2.T).max() / MAX_RATE))  # output rate G (W2 rate_h) / vo
    if vh > 2**17 - 1 or vo > 2**17 - 1:
        raise ChipemuError("sdnn_video: thresholds out of the 17-bit vth range; lower the weights")
    # regular input trains: source c fires at step k of frame f when floor((k+1) x) > floor(k x)
    k = np.arange(window)
    fires = (np.floor((k[None, None, :] + 1) * x[:, :, None]) > np.floor(k[None, None, :] * x[:, :, None]))
    f_i, c_i, k_i = np.nonzero(fires)
    net = Network("sdnn_video_lif", steps=frames * window)
    src = net.add_input("pixels", inputs, c_i, f_i * window + k_i)
    # u low-pass filters the spikes (du = DU, gain 4096 / (DU + 1)); v integrates (dv = 0); both
    # cleared at every frame start (periodic reset), so a negative drive does not pile up
    hid = net.add_population("hidden", hidden, du=DU, dv=0, vth=vh, bias_mant=bm, bias_exp=be,
                             reset_interval=window, reset_offset=0)
    out = net.add_population("out", outputs, du=DU, dv=0, vth=vo, reset_interval=window, reset_offset=0)
    net.connect(src, hid, "all_to_all", weight=W1.T.reshape(-1))
    net.connect(hid, out, "all_to_all", weight=W2.T.reshape(-1))
    # y (x_scale units) = (x_scale / 64) W2 h, h = rate_h 64 vh / G, W2 rate_h = rate_o vo / G
    net.program_scales = {"y": vh * vo * x_scale / GAIN**2}
    return net


def decode(result) -> np.ndarray:
    """(frames, outputs) decoded outputs; NaN where the result has no value."""
    meta = get_meta(result.network, "sdnn_video")
    out = result.network.population("out")
    s = result.spikes.select(out.start, out.stop)
    frames = meta["frames"]
    if meta["mode"] == "sdnn":
        y = np.zeros((frames, out.size))
        if s.payload is None:
            return np.full((frames, out.size), np.nan)
        f = s.t - LAG
        keep = (f >= 0) & (f < frames)
        y[f[keep], s.neuron[keep]] = s.payload[keep]
        return y
    w = meta["window"]
    counts = np.zeros((frames, out.size))
    f = s.t // w
    keep = (f < frames) & (s.t % w >= w // 2)  # the second half of each frame: filters have settled
    np.add.at(counts, (f[keep], s.neuron[keep]), 1)
    return counts / (w - w // 2) * meta["scales"]["y"]


def check(result) -> tuple[bool, str]:
    meta = get_meta(result.network, "sdnn_video")
    mode, y_ref, frames = meta["mode"], meta["y"], meta["frames"]
    y = decode(result)
    first = SETTLE + 1 if mode == "sdnn" else 1
    err = y[first:] - y_ref[first:]
    rel = float(np.sqrt(np.nanmean(err**2)) / np.sqrt(np.mean(y_ref[first:]**2))) if np.isfinite(y).all() else np.inf
    hid = result.network.population("hidden")
    s = result.spikes.select(hid.start, hid.stop)
    steps_per_frame = 1 if mode == "sdnn" else meta["window"]
    per_frame = np.bincount(s.t // steps_per_frame, minlength=frames + LAG + 1)[:frames]
    lo, hi = meta["still"]
    parts = [f"{mode}: output RMS error {100 * rel:.2f}% of RMS output (limit {100 * TOL[mode]:.0f}%)",
             f"hidden messages/frame {per_frame.mean():.1f}"]
    ok = rel <= TOL[mode]
    if mode == "sdnn" and hi - lo > 2 * SETTLE:
        # hidden messages of frame f appear at step f + 2
        msgs = np.bincount(s.t, minlength=frames + LAG + 1)[2:frames + 2]
        still = msgs[lo + SETTLE:hi].mean()
        moving = np.concatenate([msgs[SETTLE:lo], msgs[hi + SETTLE:]]).mean()
        parts.append(f"still segment {still:.2f} vs moving {moving:.2f} messages/frame")
        ok = ok and moving > 0 and still <= QUIET * moving
    detail = "; ".join(parts) + energy_detail(result, frames, "frame")
    return bool(ok), ("" if ok else "FAILED: ") + detail
