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


def test_write_npz_stores_incompressible_members_and_is_deterministic(tmp_path):
    """Random indices are stored, regular ones deflated; np.load and read_npz read both;
    the same arrays give the same bytes."""
    import zipfile

    from chipemu.files import read_npz, write_npz

    rng = np.random.default_rng(1)
    arrays = {"dst": rng.integers(0, 2**31 - 1, 300_000).astype(np.int32),
              "src": np.repeat(np.arange(3_000, dtype=np.int32), 100), "name": np.array("net")}
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    write_npz(a, arrays)
    write_npz(b, arrays)
    assert a.read_bytes() == b.read_bytes()
    kinds = {i.filename: i.compress_type for i in zipfile.ZipFile(a).infolist()}
    assert (kinds["dst.npy"], kinds["src.npy"]) == (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    for got in (dict(np.load(a)), read_npz(a, "test file")):
        assert set(got) == set(arrays)
        for k, v in arrays.items():
            assert got[k].dtype == v.dtype and np.array_equal(got[k], v)


def test_write_npz_does_not_copy_a_strided_array_whole(tmp_path):
    """A transposed or strided view is written without a contiguous copy of it: the memory
    traced while writing stays well under the array's size (numpy's 16 MiB write chunks),
    the probe that decides deflating reads the first values in C order, and the members
    read back equal."""
    import tracemalloc
    import zipfile

    from chipemu.files import write_npz

    base = np.random.default_rng(2).random((5_000, 1_000))  # 40 MB, incompressible
    regular = np.tile(np.arange(1_000, dtype=np.int64), (50, 1))  # deflates
    tracemalloc.start()
    try:
        write_npz(tmp_path / "t.npz", {"t": base.T})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.6 * base.nbytes
    write_npz(tmp_path / "r.npz", {"t": regular.T, "c": base[::7, ::3]})
    kinds = {i.filename: i.compress_type for i in zipfile.ZipFile(tmp_path / "r.npz").infolist()}
    assert kinds == {"t.npy": zipfile.ZIP_DEFLATED, "c.npy": zipfile.ZIP_STORED}
    assert np.array_equal(np.load(tmp_path / "t.npz")["t"], base.T)
    got = np.load(tmp_path / "r.npz")
    assert np.array_equal(got["t"], regular.T) and np.array_equal(got["c"], base[::7, ::3])
