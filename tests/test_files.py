"""Output files get the permissions of a plain write: 0o666 & ~umask (chipemu.files)."""

import os
import stat

import numpy as np
import pytest

from chipemu import Network, SpikeRaster
from chipemu.cli import main
from chipemu.files import atomic_write, current_umask, new_file_mode


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield 0o640
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_without_changing_it(umask_027):
    assert current_umask() == 0o027
    assert current_umask() == 0o027


def test_atomic_write_gives_a_new_file_the_umask_mode_and_keeps_an_existing_mode(tmp_path, umask_027):
    p = tmp_path / "a.txt"
    atomic_write(p, lambda tmp: open(tmp, "w").write("x"))
    assert mode(p) == umask_027 and p.read_text() == "x"
    os.chmod(p, 0o604)
    atomic_write(p, lambda tmp: open(tmp, "w").write("y"))
    assert mode(p) == 0o604 and p.read_text() == "y"
    assert new_file_mode(tmp_path / "new") == umask_027


def test_failed_atomic_write_leaves_nothing(tmp_path):
    def fail(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "b.txt", fail)
    assert list(tmp_path.iterdir()) == []


def test_every_output_file_has_the_umask_mode(tmp_path, umask_027):
    """report.json, spikes.npz, the HTML and PNGs, mapping.json, saved networks and spike files alike."""
    net = Network("perm", steps=6)
    a = net.add_population("a", 8, du=4095, dv=4095, vth=1)
    i = net.add_spike_times("i", [[0, 2]])
    net.connect(i, a, "all_to_all", weight=254)
    net.save(tmp_path / "net.npz")
    SpikeRaster(np.array([0]), np.array([1])).save(tmp_path / "s.npz")
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "net.npz"), "--chip", "tiny", "--noc", "analytic", "--out", str(out)]) == 0
    assert main(["map", str(tmp_path / "net.npz"), "--chip", "tiny", "--out", str(tmp_path / "map")]) == 0
    assert main(["simulate", str(tmp_path / "net.npz"), "--out", str(tmp_path / "sim")]) == 0
    files = [tmp_path / "net.npz", tmp_path / "s.npz", tmp_path / "map" / "mapping.json",
             tmp_path / "sim" / "spikes.npz", *out.iterdir()]
    assert {"report.json", "spikes.npz", "report.html", "raster.png"} <= {p.name for p in out.iterdir()}
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(umask_027) for p in files}
