"""report.json contents, report.html + PNG figures, and `chipemu report DIR`."""

import hashlib
import json
from importlib import resources

import pytest

from chipemu import SpikeRaster, __version__
from chipemu.baseline import baseline_report
from chipemu.cli import main
from chipemu.energy import energy_report
from chipemu.report import build_report, read_report, write_report
from chipemu.report.figures import FIGURES

from conftest import CONTRACT_KEYS, get_dotted
from test_energy import tiny_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"




@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One tiny run written the way `chipemu run` writes it, HTML included."""
    from chipemu.report.html import write_html

    out = tmp_path_factory.mktemp("run")
    run = tiny_run()
    e = energy_report(run)
    report = build_report(run, seed=7, energy=e, baseline=baseline_report(run, e))
    run.spikes.save(out / "spikes.npz")
    write_report(report, out / "report.json")
    write_html(report, run.spikes, out)
    return out, run, report


def test_report_json_has_every_contract_key(rendered):
    out, run, _ = rendered
    r = json.loads((out / "report.json").read_text())
    for key in CONTRACT_KEYS:
        get_dotted(r, key)
    assert sum(r["energy"]["breakdown"].values()) == r["energy"]["total_j"]
    assert sum(r["baseline"]["breakdown"].values()) == r["baseline"]["energy_j"]
    assert r["chip"]["mesh"] == [2, 2] and r["steps"] == 4 and r["spikes"]["total"] == 2
    assert r["energy"]["profile"] == r["chip"]["energy_profile"] == "D18"


def test_report_provenance_is_right(rendered):
    out, run, _ = rendered
    r = read_report(out / "report.json")
    assert r["chipemu_version"] == __version__ and r["seed"] == 7
    chip_bytes = resources.files("chipemu.chips").joinpath("tiny.toml").read_bytes()
    assert r["chip"]["sha256"] == hashlib.sha256(chip_bytes).hexdigest()
    assert r["network"]["sha256"] == run.network.sha256()
    host_bytes = resources.files("chipemu.hosts").joinpath("cpu-45nm.toml").read_bytes()
    assert r["baseline"]["host"]["sha256"] == hashlib.sha256(host_bytes).hexdigest()


def test_html_and_pngs_exist_and_embed_every_figure(rendered):
    out, _, _ = rendered
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for name in FIGURES:
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 5_000
        assert f'id="fig-{name}"' in html
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert "src=\"http" not in html  # self-contained
    for text in ("tiny3 on tiny", "chip advantage", "Mapping quality", "cut synapses", "D18", "cpu-45nm"):
        assert text in html


def test_pngs_decode_with_matplotlib(rendered):
    import matplotlib.image as mpimg

    out, _, _ = rendered
    for name in FIGURES:
        img = mpimg.imread(out / f"{name}.png")
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
        assert img.std() > 0.01  # not blank


def test_cli_report_redraws_after_deleting(rendered, capsys):
    out, _, _ = rendered
    for name in FIGURES:
        (out / f"{name}.png").unlink()
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (out / "report.html").stat().st_size > 10_000
    for name in FIGURES:
        assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)


def _one_line_error(capsys, fragment):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err, err


def test_cli_report_missing_report_json(tmp_path, capsys):
    SpikeRaster([0], [0]).save(tmp_path / "spikes.npz")
    assert main(["report", str(tmp_path)]) == 2
    _one_line_error(capsys, "report.json: no such file")
    assert not (tmp_path / "report.html").exists()


def test_cli_report_missing_dir(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    _one_line_error(capsys, "no such directory")


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "report.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "report.json").write_text(json.dumps({"chip": {"name": "x"}})), "key 'chip.cores' is missing"),
    (lambda d: (d / "spikes.npz").unlink(), "spikes.npz: no such file"),
    (lambda d: SpikeRaster([0], [99]).save(d / "spikes.npz"), "does not belong"),
])
def test_cli_report_bad_files(rendered, tmp_path, capsys, damage, fragment):
    src, _, _ = rendered
    for name in ("report.json", "spikes.npz"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    damage(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    _one_line_error(capsys, fragment)
    assert not (tmp_path / "report.html").exists()


def test_figures_draw_without_optional_sections(rendered, tmp_path):
    """A report without energy/baseline/usage still renders (placeholders, no crash)."""
    from chipemu.report.html import write_html

    _, run, report = rendered
    bare = json.loads(json.dumps(report))
    for key in ("energy", "baseline"):
        bare.pop(key)
    bare["mapping"].pop("usage")
    bare["noc"].pop("link_packets")
    write_html(bare, run.spikes, tmp_path)
    assert (tmp_path / "energy.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("rotation", [0, 90])
def test_fast_text_lands_where_matplotlib_puts_it(rotation):
    """The report canvas's one-bitmap text path inks the same box as matplotlib's own Agg
    text (within 2 pixels), horizontal and rotated."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from chipemu.report.drawing import _Canvas, _figure

    def ink_box(canvas_cls):
        fig = _figure(3.0, 3.0)
        canvas = canvas_cls(fig)
        fig.text(0.3, 0.4, "spikes / step 10⁻⁶ µJ", rotation=rotation, fontsize=10)
        canvas.draw()
        dark = np.asarray(canvas.buffer_rgba())[..., :3].min(-1) < 128
        rows, cols = np.flatnonzero(dark.any(1)), np.flatnonzero(dark.any(0))
        return np.array([rows[0], rows[-1], cols[0], cols[-1]])

    assert np.abs(ink_box(_Canvas) - ink_box(FigureCanvasAgg)).max() <= 2
