"""Quick-look plots and H/I/J/K detection (sim.plot)."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest

from _recording_factory import HIJK_OFFSETS, gaussian_force, make_recording
from sim._signal import seconds_to_samples
from sim.plot import bcg_hijk, recording_figure, recording_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --------------------------------------------------------------------------- H/I/J/K
@pytest.mark.parametrize("fs", [250.0, 487.0, 1000.0])
def test_hijk_exact_on_hand_built_force(fs):
    """Bumps centred on samples: every wave is found at its sample (exact to one sample)."""
    n = seconds_to_samples(6.0, fs=fs)
    j_idx = seconds_to_samples(np.array([0.7, 1.9, 3.05, 4.4]), fs=fs)
    force, truth = gaussian_force(n, fs=fs, j_idx=j_idx)
    found = bcg_hijk(force, fs=fs, j_peak=j_idx / fs)
    assert set(found) == {"H", "I", "J", "K"}
    for wave in "HIJK":
        assert found[wave].shape == (4,)
        np.testing.assert_allclose(found[wave], truth[wave], rtol=0, atol=0.5 / fs)
    # the waves are where they were put relative to J
    for wave, off in HIJK_OFFSETS.items():
        np.testing.assert_allclose(found[wave] - found["J"], off, atol=1 / fs)


def test_hijk_missing_and_edge_beats():
    fs = 250.0
    n = 500
    force, _ = gaussian_force(n, fs=fs, j_idx=np.array([100, 300]))
    j = np.array([np.nan, 0.0, 100 / fs, (n - 1) / fs, 50.0])
    found = bcg_hijk(force, fs=fs, j_peak=j)
    np.testing.assert_array_equal(found["J"][[1, 2, 3]], j[[1, 2, 3]])
    # NaN J and J beyond the signal: nothing found
    for wave in "HIK":
        assert np.isnan(found[wave][0]) and np.isnan(found[wave][4])
    # J at sample 0: the I window [J-0.12, J) is empty, so I and H are absent; K exists
    assert np.isnan(found["I"][1]) and np.isnan(found["H"][1]) and np.isfinite(found["K"][1])
    # J on the last sample: the K window (J, J+0.15] is empty
    assert np.isnan(found["K"][3]) and np.isfinite(found["I"][3])
    assert found["I"][2] == pytest.approx((100 + seconds_to_samples(-0.07, fs=fs)) / fs)


def test_hijk_windows_are_half_open():
    """I is searched in [J-0.12, J): a deeper minimum just outside must be ignored."""
    fs = 100.0
    force = np.zeros(100)
    jj = 50
    force[jj] = 1.0
    force[jj - 12] = -1.0  # exactly J - 0.12 s: inside
    force[jj - 13] = -5.0  # outside
    force[jj + 15] = -2.0  # exactly J + 0.15 s: inside (K window is closed on the right)
    force[jj + 16] = -9.0  # outside
    found = bcg_hijk(force, fs=fs, j_peak=np.array([jj / fs]))
    assert found["I"][0] == pytest.approx((jj - 12) / fs)
    assert found["K"][0] == pytest.approx((jj + 15) / fs)
    with pytest.raises(ValueError, match="1-D"):
        bcg_hijk(force.reshape(2, 50), fs=fs, j_peak=np.array([0.5]))


def test_hijk_no_beats():
    found = bcg_hijk(np.zeros(10), fs=250.0, j_peak=np.array([]))
    assert all(v.shape == (0,) for v in found.values())


# --------------------------------------------------------------------------- plots
def test_recording_plot_writes_png(tmp_path):
    had_pyplot = "matplotlib.pyplot" in sys.modules
    ds = make_recording()
    out = recording_plot(ds, tmp_path / "sim.png")
    assert out == tmp_path / "sim.png"
    data = out.read_bytes()
    width, height = _png_size(data)
    assert (width, height) == (1200, 840)  # 12 x 8.4 in at 100 dpi, 3 panels
    assert len(data) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["sim.png"]  # no temporaries left
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot  # global state untouched


def test_figure_panels_and_title():
    ds = make_recording(fs=487.0, duration=7.0)
    fig = recording_figure(ds, start=1.5, duration=4.0)
    axes = fig.axes
    assert len(axes) == 3
    assert axes[-1].get_xlim() == pytest.approx((1.5, 5.5))
    title = fig._suptitle.get_text()
    for part in ("S001", "supine", "487 Hz", "sim"):
        assert part in title
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["ECG", "P onset", "QRS onset", "R", "QRS offset", "T offset"]
    labels = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert labels == ["Kim force", "H", "I", "J", "K"]
    # one J line per J in the window [1.5, 5.5): J at 1.75, 2.75, 3.75, 4.75
    assert len(axes[2].lines) == 1 + 4


def test_real_recording_has_two_panels(tmp_path):
    real = make_recording(source="mit-bih-bcg")
    assert len(recording_figure(real).axes) == 2
    width, height = _png_size(recording_plot(real, tmp_path / "real.png").read_bytes())
    assert (width, height) == (1200, 580)


def test_window_is_clipped_at_the_end():
    fig = recording_figure(make_recording(duration=12.0), start=8.0, duration=10.0)
    assert fig.axes[-1].get_xlim() == pytest.approx((8.0, 12.0))


@pytest.mark.parametrize("start, duration, message", [
    (12.0, 10.0, r"outside the recording, which lasts 12 s"),
    (30.0, 5.0, r"\[30, 35\) s is outside the recording, which lasts 12 s"),
    (-1.0, 5.0, r"outside the recording, which lasts 12 s"),
    (0.0, 0.0, r"duration must be a positive"),
])
def test_window_outside_raises(tmp_path, start, duration, message):
    with pytest.raises(ValueError, match=message):
        recording_plot(make_recording(), tmp_path / "x.png", start=start, duration=duration)
    assert not (tmp_path / "x.png").exists()


def test_low_fs_names_the_numbers(tmp_path):
    ds = make_recording(duration=12.0, fs=30.0)
    with pytest.raises(ValueError, match=r"20 Hz needs fs > 40 Hz.*fs = 30 Hz"):
        recording_plot(ds, tmp_path / "x.png")
