"""The bundled programs (programs/*.py): each check passes on a real run and fails on a wrong one.

Every program runs at a small size on each runner of the ``runner`` fixture.  A runner is a
function ``runner(net) -> result`` where ``result`` has ``network``, ``spikes``, ``steps``
and ``report`` (``None`` on the host reference runner; a report.json dictionary on the
emulated chip).  To check the programs on another runner, add it to ``RUNNERS``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from chipemu import Network, SpikeRaster
from chipemu.cli import main
from chipemu.errors import ChipemuError
from chipemu.loading import bundled_programs, load_program
from chipemu.reference import run

PROGRAMS = ["synfire", "brunel", "wta", "shortest_path", "lca", "digits", "stdp_pattern", "sdnn_video",
            "conv_digits"]

# small sizes: each program builds and runs in well under a second
SMALL = {
    "synfire": dict(groups=6, group_size=8),
    "brunel": dict(n_exc=1600, n_inh=400, steps=800),
    "wta": dict(k=4, size=10),
    "shortest_path": dict(nodes=80, degree=2.0),
    "lca": dict(dim=32, atoms=64, sparsity=3, steps=1000),
    "digits": dict(images=40, window=48),
    "conv_digits": dict(images=30, window=48),
    "stdp_pattern": dict(steps=10000),
    "sdnn_video": dict(frames=60, still_from=20, still_to=40),
}


def run_reference(net: Network):
    """The host reference runner, as a result-like object (no chip report)."""
    res = run(net)
    return SimpleNamespace(network=net, spikes=res.spikes, steps=res.steps, report=None)


RUNNERS = [run_reference]


@pytest.fixture(scope="module", params=RUNNERS, ids=lambda f: f.__name__)
def runner(request):
    return request.param


_MODULES: dict = {}
_RESULTS: dict = {}


def program(name):
    if name not in _MODULES:
        _MODULES[name] = load_program(name)
    return _MODULES[name]


def small_result(name, runner):
    key = (name, runner)
    if key not in _RESULTS:
        _RESULTS[key] = runner(program(name).build(**SMALL[name]))
    return _RESULTS[key]


def with_spikes(result, t, neuron):
    """A copy of ``result`` with its raster replaced."""
    return SimpleNamespace(network=result.network, spikes=SpikeRaster(np.asarray(t), np.asarray(neuron)),
                           steps=result.steps, report=result.report)


# ---------------------------------------------------------------- every program
def test_every_bundled_program_is_tested():
    assert sorted(bundled_programs()) == sorted(PROGRAMS)


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_interface(name):
    mod = program(name)
    doc = mod.__doc__ or ""
    assert "Parameters" in doc and "Check" in doc, f"{name}: docstring must state parameters and check"
    assert callable(mod.build) and callable(mod.check)


@pytest.mark.parametrize("name", PROGRAMS)
def test_check_passes(name, runner):
    ok, detail = program(name).check(small_result(name, runner))
    assert isinstance(ok, bool) and isinstance(detail, str)
    assert "\n" not in detail
    assert ok, f"{name}: {detail}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_build_is_deterministic(name):
    a = program(name).build(**SMALL[name])
    b = load_program(name).build(**SMALL[name])   # a fresh import of the program file
    assert a.sha256() == b.sha256()


# ---------------------------------------------------------------- corrupted results fail
def _shift_group(result, name, dt):
    pop = result.network.population(name)
    t = result.spikes.t.copy()
    inside = (result.spikes.neuron >= pop.start) & (result.spikes.neuron < pop.stop)
    t[inside] += dt
    return with_spikes(result, t, result.spikes.neuron)


def _drop(result, keep_mask):
    return with_spikes(result, result.spikes.t[keep_mask], result.spikes.neuron[keep_mask])


def _synfire_corruptions(r):
    s = r.spikes
    yield "group g3 one step late", _shift_group(r, "g3", 1)
    yield "one spike dropped", _drop(r, np.arange(len(s)) != len(s) // 2)
    yield "extra spike", with_spikes(r, np.append(s.t, s.t[0] + 1), np.append(s.neuron, s.neuron[0]))
    yield "no spikes", _drop(r, np.zeros(len(s), bool))


def _brunel_corruptions(r):
    s = r.spikes
    # each neuron's train replaced by a regular train of the same count (CV -> 0)
    counts = np.bincount(s.neuron, minlength=r.network.n_compartments)
    t, n = [], []
    for i in np.flatnonzero(counts):
        k = counts[i]
        t.append(np.linspace(0, r.steps - 1, k).astype(np.int64))
        n.append(np.full(k, i))
    yield "regular trains", with_spikes(r, np.concatenate(t), np.concatenate(n))
    synced = s.t - s.t % 20                               # everyone fires in the same steps
    keep = np.unique(np.stack([synced, s.neuron]), axis=1)
    yield "synchronised", with_spikes(r, keep[0], keep[1])
    yield "rate too low", _drop(r, np.arange(len(s)) % 10 == 0)


def _wta_corruptions(r):
    net, s = r.network, r.spikes
    pops = net.populations
    pop_of = net.population_of(s.neuron)
    winner = int(np.argmax(np.bincount(pop_of, minlength=len(pops))))
    other = (winner + 1) % len(pops)
    # relabel the winner's spikes onto another population of the same size (wrong winner)
    n = s.neuron.copy()
    n[pop_of == winner] += pops[other].start - pops[winner].start
    yield "wrong winner", with_spikes(r, s.t, n)
    # a loser fires as much as half the winner: not suppressed
    mine = (pop_of == winner) & (np.arange(len(s)) % 2 == 0)
    extra_n = s.neuron[mine] + pops[other].start - pops[winner].start
    yield "loser active", with_spikes(r, np.concatenate([s.t, s.t[mine]]), np.concatenate([s.neuron, extra_n]))
    yield "silent", _drop(r, np.zeros(len(s), bool))


def _shortest_path_corruptions(r):
    s = r.spikes
    first = s.first_spike(r.network.n_compartments)
    fired = np.flatnonzero(first >= 0)
    silent = np.flatnonzero(first < 0)
    late = fired[len(fired) // 2]
    t = s.t.copy()
    t[s.neuron == late] += 1
    yield "one node late", with_spikes(r, t, s.neuron)
    yield "one node early", with_spikes(r, np.where(s.neuron == late, s.t - 1, s.t), s.neuron)
    yield "one node missing", _drop(r, s.neuron != late)
    assert silent.size, "small graph should have unreachable nodes"
    yield "unreachable node fires", with_spikes(r, np.append(s.t, 5), np.append(s.neuron, silent[0]))
    yield "node fires twice", with_spikes(r, np.append(s.t, s.t.max() + 1), np.append(s.neuron, s.neuron[-1]))


def _lca_corruptions(r):
    s = r.spikes
    yield "half the spikes", _drop(r, np.arange(len(s)) % 2 == 0)
    counts = np.bincount(s.neuron, minlength=r.network.n_compartments)
    top = int(np.argmax(counts))
    moved = np.where(s.neuron == top, (top + 1) % r.network.n_compartments, s.neuron)
    yield "wrong atom", with_spikes(r, s.t, moved)
    yield "silent", _drop(r, np.zeros(len(s), bool))
    yield "doubled rates", with_spikes(r, np.concatenate([s.t, s.t]), np.concatenate([s.neuron, s.neuron]))


def _digits_corruptions(r):
    s = r.spikes
    out = r.network.population("out")
    n = s.neuron.copy()
    inside = n >= out.start
    local = n[inside] - out.start
    n[inside] = out.start + (local // 10) * 10 + (local % 10 + 1) % 10    # every class shifted by one
    yield "classes rotated", with_spikes(r, s.t, n)
    yield "no output spikes", _drop(r, ~inside)


def _stdp_pattern_corruptions(r):
    s = r.spikes
    L = r.network.program_meta["pattern_len"]
    # every spike moved one window later: the slot after a presentation never holds the pattern
    yield "spikes moved out of the pattern", with_spikes(r, s.t + L, s.neuron)
    dense = np.arange(0, r.steps, 7)
    yield "fires in the noise too", with_spikes(r, np.union1d(s.t, dense), np.zeros(np.union1d(s.t, dense).size, int))
    yield "silent", _drop(r, np.zeros(len(s), bool))


def _sdnn_video_corruptions(r):
    s = r.spikes
    yield "payloads lost (binary spikes)", with_spikes(r, s.t, s.neuron)
    out = r.network.population("out")
    scaled = np.where((s.neuron >= out.start) & (s.neuron < out.stop), s.payload * 11 // 10, s.payload)
    yield "outputs 10% off", SimpleNamespace(network=r.network, spikes=SpikeRaster(s.t, s.neuron, scaled),
                                             steps=r.steps, report=r.report)
    hid = r.network.population("hidden")
    t = np.repeat(np.arange(25, 38), 3)  # three hidden neurons keep sending during the still segment
    extra = SpikeRaster(np.concatenate([s.t, t]), np.concatenate([s.neuron, hid.start + np.arange(t.size) % 3]),
                        np.concatenate([s.payload, np.full(t.size, 64)]))
    yield "busy while the picture is still", SimpleNamespace(network=r.network, spikes=extra, steps=r.steps,
                                                             report=r.report)


CORRUPTIONS = {
    "sdnn_video": _sdnn_video_corruptions,
    "stdp_pattern": _stdp_pattern_corruptions,
    "synfire": _synfire_corruptions,
    "brunel": _brunel_corruptions,
    "wta": _wta_corruptions,
    "shortest_path": _shortest_path_corruptions,
    "lca": _lca_corruptions,
    "digits": _digits_corruptions,
    "conv_digits": _digits_corruptions,
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_check_fails_on_corrupted_result(name, runner):
    good = small_result(name, runner)
    cases = list(CORRUPTIONS[name](good))
    assert len(cases) >= 2
    for label, bad in cases:
        ok, detail = program(name).check(bad)
        assert ok is False, f"{name}: check passed on a corrupted result ({label}): {detail}"
        assert detail and "\n" not in detail


# ---------------------------------------------------------------- the checks discriminate real dynamics
def test_brunel_synchronous_regime_fails(runner):
    """Identical neurons (hetero=0) lock into the synchronous regular state: not AI."""
    ok, detail = program("brunel").check(runner(program("brunel").build(**{**SMALL["brunel"], "hetero": 0.0})))
    assert not ok and "chi" in detail


def test_wta_without_inhibition_fails(runner):
    ok, detail = program("wta").check(runner(program("wta").build(**{**SMALL["wta"], "w_inh": 0})))
    assert not ok and "not suppressed" in detail


def test_stdp_pattern_control_without_plasticity_fails(runner):
    """The same network with static weights fires as much in the noise as in the pattern."""
    ok, detail = program("stdp_pattern").check(runner(program("stdp_pattern").build(**{**SMALL["stdp_pattern"],
                                                                                       "plastic": False})))
    assert not ok and "not selective" in detail


def test_conv_digits_too_short_window_fails(runner):
    ok, detail = program("conv_digits").check(runner(program("conv_digits").build(images=30, window=8)))
    assert not ok and "no output spike" in detail


def test_digits_too_short_window_fails(runner):
    ok, detail = program("digits").check(runner(program("digits").build(images=40, window=6)))
    assert not ok, detail


# ---------------------------------------------------------------- program specifics
def test_shortest_path_delays_encode_lengths():
    """An edge of length L is a synapse of delay L - 1, so arrival is exactly L steps later."""
    mod = program("shortest_path")
    net = mod.build(**SMALL["shortest_path"])
    g = net.program_meta["graph"]
    edges = next(p for p in net.projections if p.name == "edges")
    assert len(edges) == g.number_of_edges()
    for u, v, d in zip(edges.src.tolist(), edges.dst.tolist(), edges.delay.tolist()):
        assert g.edges[u, v]["length"] == d + 1


def test_shortest_path_single_edge_timing():
    """Two-node graph: the target fires exactly `length` steps after the source."""
    mod = program("shortest_path")
    for seed in range(3):
        net = mod.build(nodes=2, degree=1.0, max_len=63, seed=seed)
        g = net.program_meta["graph"]
        first = run(net).spikes.first_spike(2)
        t0 = net.program_meta["t0"]
        assert first[0] == t0
        if g.has_edge(0, 1):
            assert first[1] == t0 + g.edges[0, 1]["length"]


def test_lca_quantisation_is_reported(runner):
    ok, detail = program("lca").check(small_result("lca", runner))
    assert "max |G_q - G|" in detail and "bias error" in detail


def test_digits_reports_both_accuracies_and_energy(runner):
    r = small_result("digits", runner)
    ok, detail = program("digits").check(r)
    assert "spiking accuracy" in detail and "non-spiking" in detail
    report = {"energy": {"total_j": 4e-6}, "baseline": {"energy_j": 4e-4}, "time": {"chip_s": 1e-3}}
    ok2, detail2 = program("digits").check(SimpleNamespace(network=r.network, spikes=r.spikes,
                                                           steps=r.steps, report=report))
    assert ok2 == ok
    assert "energy/inference 100 nJ on chip vs 10 uJ baseline" in detail2   # 4 uJ / 40 images


def test_digits_without_sklearn_is_a_clear_error(monkeypatch):
    mod = program("digits")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ChipemuError, match="pip install scikit-learn"):
        mod._load_digits()


def test_check_needs_the_built_network(tmp_path):
    """A network re-loaded from a flat file has lost the program's metadata: clear error."""
    net = program("lca").build(**SMALL["lca"])
    net.save(tmp_path / "lca.npz")
    again = Network.load(tmp_path / "lca.npz")
    res = run_reference(again)
    with pytest.raises(ChipemuError, match="needs the Network returned by"):
        program("lca").check(res)


def test_common_helpers():
    from programs._common import bias_registers, bias_value, even_weights, isi_cv, synchrony_chi
    b = np.array([0.0, 1.4, -3.6, 4095.0, 4096.4, -60000.0, 500000.0])
    mant, exp = bias_registers(b)
    assert np.all((mant >= -4096) & (mant <= 4095)) and np.all((exp >= 0) & (exp <= 7))
    assert np.all(np.abs(bias_value(mant, exp) - b) <= 2.0 ** (exp - 1) + 1e-9)
    assert exp[0] == exp[1] == exp[3] == 0
    assert list(even_weights([1.2, -3.1, 253.2, -255.9])) == [2, -4, 254, -256]
    with pytest.raises(ChipemuError):
        even_weights([255.5])
    with pytest.raises(ChipemuError):
        bias_registers([4095 * 2 ** 7 + 1000])
    # regular trains: CV 0; lock-step: chi 1; independent Poisson-like: CV ~1, chi small
    regular = SpikeRaster(np.tile(np.arange(0, 1000, 10), 5), np.repeat(np.arange(5), 100))
    assert isi_cv(regular, 0, 5, 0, 1000)[0] == pytest.approx(0.0)
    assert synchrony_chi(regular, 0, 5, 0, 1000) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    t, n = np.nonzero(rng.random((2000, 200)) < 0.05)
    poisson = SpikeRaster(t, n)
    cv, k = isi_cv(poisson, 0, 200, 0, 2000)
    assert k == 200 and 0.9 < cv < 1.05
    assert synchrony_chi(poisson, 0, 200, 0, 2000) < 0.15


# ---------------------------------------------------------------- command line
def test_simulate_program_from_command_line(tmp_path, capsys):
    path = Path(__file__).resolve().parent.parent / "programs" / "shortest_path.py"
    assert main(["simulate", str(path), "--param", "nodes=50", "--out", str(tmp_path)]) == 0
    spikes = SpikeRaster.load(tmp_path / "spikes.npz")
    net = program("shortest_path").build(nodes=50)
    ok, detail = program("shortest_path").check(SimpleNamespace(network=net, spikes=spikes, steps=net.steps,
                                                                report=None))
    assert ok, detail
    assert "shortest_path" in capsys.readouterr().out


def test_shortest_path_full_delay_range(runner):
    """Edge lengths up to 63 (delays up to 62, the Loihi maximum) keep exact arrival times."""
    net = program("shortest_path").build(nodes=150, degree=3.0, max_len=63, seed=1)
    assert int(next(p for p in net.projections if p.name == "edges").delay.max()) == 62
    ok, detail = program("shortest_path").check(runner(net))
    assert ok, detail
