"""Reconstruction metrics on hand-built ECGs with known landmark shifts.

Test beats are sums of Gaussians at known times (P −200 ms, Q −30, R 0, S +30, T +300 ms;
RR 0.9 s, 250 Hz). Absolute onsets of a Gaussian wave are a matter of definition, so the
tests check what the metric is for: moving one wave by a known amount moves exactly the
intervals that contain it, by that amount. Tolerance ±1 sample = ±4 ms at 250 Hz (the
delineator works on the sample grid; measured deviations 0–2 ms).
"""

import json
import logging
import math

import numpy as np
import pytest

from med2ecg.metrics import (DELINEATION_FIELDS, amplitude_error_beat, amplitude_error_paper,
                             delineate, interval_errors, pcc, summarise, window_metrics)

FS = 250.0
TOL_MS = 1000.0 / FS  # one sample
WAVES = {  # name: (centre relative to R, s; sigma, s; amplitude, mV)
    "P": (-0.200, 0.025, 0.15),
    "Q": (-0.030, 0.008, -0.10),
    "R": (0.000, 0.010, 1.00),
    "S": (0.030, 0.008, -0.25),
    "T": (0.300, 0.045, 0.30),
}


def _ecg(*, shifts=None, rr=0.9, dur=10.0, drop=(), extra=(), fs=FS):
    """Gaussian-wave ECG (mV). ``shifts``: wave → extra offset (s) on every beat; ``drop``:
    beat indices left out; ``extra``: additional R times (s). Returns (ecg, R times)."""
    shifts = shifts or {}
    t = np.arange(int(round(dur * fs))) / fs
    rs = np.arange(0.5, dur - 0.6, rr)
    keep = np.array([r for i, r in enumerate(rs) if i not in drop] + list(extra))
    x = np.zeros_like(t)
    for r in keep:
        for name, (c, s, a) in WAVES.items():
            x += a * np.exp(-0.5 * ((t - r - c - shifts.get(name, 0.0)) / s) ** 2)
    return x, np.sort(keep)


# --------------------------------------------------------------------------- pcc
def test_pcc_linear_relations():
    x = np.sin(np.linspace(0, 7, 500)) + 0.1 * np.linspace(0, 1, 500)
    assert pcc(2 * x + 1, x) == pytest.approx(1.0, abs=1e-12)
    assert pcc(-x, x) == pytest.approx(-1.0, abs=1e-12)
    assert isinstance(pcc(x, x), float)


def test_pcc_per_window_and_constant_is_nan():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 4, 200))
    pred = ref + 0.5 * rng.standard_normal((3, 4, 200))
    out = pcc(pred, ref)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == pytest.approx(np.corrcoef(pred[i, j], ref[i, j])[0, 1], abs=1e-12)
    flat = pcc(np.stack([np.full(200, 3.0), ref[0, 0]]), np.stack([ref[0, 0], ref[0, 1]]))
    assert math.isnan(flat[0]) and np.isfinite(flat[1])  # no warning, no crash
    assert math.isnan(pcc([1.0], [2.0]))  # one sample: zero variance


@pytest.mark.parametrize("pred,ref,match", [
    (np.zeros(5), np.zeros(6), "same shape"),
    (np.zeros(0), np.zeros(0), "non-empty"),
    (np.array([0.0, np.nan, 1.0]), np.zeros(3), "non-finite"),
])
def test_pcc_bad_inputs(pred, ref, match):
    with pytest.raises(ValueError, match=match):
        pcc(pred, ref)


# --------------------------------------------------------------------------- amplitude
def test_amplitude_error_paper_scale_and_guard():
    y, _ = _ecg()
    assert amplitude_error_paper(1.1 * y, y) == pytest.approx(10.0, rel=1e-9)
    # a 0.01-mV offset: without the guard the isoelectric samples (|y| ~ 1e-300) dominate
    pred = y + 0.01
    keep = np.abs(y) >= 0.05 * np.abs(y).max()
    expect = 100 * np.mean(0.01 / np.abs(y[keep]))
    assert amplitude_error_paper(pred, y) == pytest.approx(expect, rel=1e-12)
    assert amplitude_error_paper(pred, y) < 20.0
    assert amplitude_error_paper(pred, y, rel_eps=0.2) < amplitude_error_paper(pred, y)
    assert math.isnan(amplitude_error_paper(np.ones(10), np.zeros(10)))
    batch = amplitude_error_paper(np.stack([1.1 * y, 1.2 * y]), np.stack([y, y]))
    np.testing.assert_allclose(batch, [10.0, 20.0], rtol=1e-9)
    with pytest.raises(ValueError, match=r"rel_eps = 0 is out of range; allowed \(0, 1\]"):
        amplitude_error_paper(y, y, rel_eps=0)


def test_amplitude_error_beat_is_well_posed():
    y, r = _ecg()
    assert amplitude_error_beat(1.2 * y, y, fs=FS, r_peaks=r) == pytest.approx(20.0, rel=1e-9)
    # a baseline offset leaves every beat's peak-to-peak unchanged → 0 %
    assert amplitude_error_beat(y + 0.3, y, fs=FS, r_peaks=r) == pytest.approx(0.0, abs=1e-9)
    assert amplitude_error_paper(y + 0.3, y) > 10.0  # the paper's formula is not
    assert math.isnan(amplitude_error_beat(y, y, fs=FS, r_peaks=[]))
    assert math.isnan(amplitude_error_beat(y, y, fs=FS, r_peaks=[-1.0, 99.0]))  # outside
    # an R near the edge uses the clipped window for both signals
    assert amplitude_error_beat(2 * y, y, fs=FS, r_peaks=[0.05]) == pytest.approx(100.0)


# --------------------------------------------------------------------------- delineation
def test_delineate_one_entry_per_beat_in_the_right_place():
    y, r = _ecg()
    d = delineate(y, fs=FS)
    assert tuple(d) == DELINEATION_FIELDS
    assert d["r_peak"].size == r.size
    np.testing.assert_allclose(d["r_peak"], r, atol=0.5 / FS)
    rel = {k: d[k] - d["r_peak"] for k in DELINEATION_FIELDS[1:]}
    assert np.all(np.isfinite(np.stack(list(rel.values()))))
    # each landmark inside the support (centre ± 4σ) of the wave it bounds, on its own side
    assert np.all((rel["p_onset"] > -0.200 - 4 * 0.025) & (rel["p_onset"] < -0.200))
    assert np.all((rel["qrs_onset"] > -0.030 - 4 * 0.008) & (rel["qrs_onset"] < -0.030))
    assert np.all((rel["qrs_offset"] > 0.030) & (rel["qrs_offset"] < 0.030 + 4 * 0.008))
    assert np.all((rel["t_offset"] > 0.300) & (rel["t_offset"] < 0.300 + 4 * 0.045))


def test_delineate_given_r_peaks_matches_detected():
    y, r = _ecg()
    d_auto = delineate(y, fs=FS)
    d_given = delineate(y, fs=FS, r_peaks=r)
    for k in DELINEATION_FIELDS:
        np.testing.assert_allclose(d_given[k], d_auto[k], atol=1.0 / FS)
    with pytest.raises(ValueError, match="r_peaks must lie in"):
        delineate(y, fs=FS, r_peaks=[20.0])


def test_delineate_short_and_flat_signals_degrade_gracefully(caplog):
    y, r = _ecg(dur=2.0)
    with caplog.at_level(logging.WARNING, logger="med2ecg.metrics"):
        d = delineate(y, fs=FS, r_peaks=r)
    assert "shorter than neurokit2" in caplog.text
    assert d["r_peak"].size == r.size and np.all(np.isnan(d["qrs_onset"]))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="med2ecg.metrics"):
        flat = delineate(np.zeros(2500), fs=FS)
    assert all(v.size == 0 for v in flat.values())
    assert "no R peak" in caplog.text  # logged, not raised or printed
    with pytest.raises(ValueError, match="1-D"):
        delineate(np.zeros((2, 2500)), fs=FS)
    with pytest.raises(ValueError, match="non-finite"):
        delineate(np.full(2500, np.nan), fs=FS)


# --------------------------------------------------------------------------- intervals
def test_identical_signals_have_zero_errors():
    y, r = _ecg()
    ie = interval_errors(y, y, fs=FS)
    assert ie["matched"] == r.size and ie["unmatched"] == 0
    for k in ("rr_ms", "qrs_ms", "pr_ms", "qt_ms"):
        finite = ie[k][np.isfinite(ie[k])]
        assert finite.size >= r.size - 1
        np.testing.assert_array_equal(finite, 0.0)


@pytest.mark.parametrize("wave,shift,expect", [
    # wave moved → (rr, qrs, pr, qt) change in ms; QRS offset only: the S wave
    ("S", +0.010, (0, +10, 0, 0)),
    ("S", +0.020, (0, +20, 0, 0)),
    ("T", +0.020, (0, 0, 0, +20)),
    ("P", -0.020, (0, 0, +20, 0)),
    ("Q", -0.010, (0, +10, -10, +10)),  # QRS onset earlier: QRS and QT longer, PR shorter
])
def test_known_shift_gives_known_interval_error(wave, shift, expect):
    y, _ = _ecg()
    p, _ = _ecg(shifts={wave: shift})
    ie = interval_errors(p, y, fs=FS)
    assert ie["unmatched"] == 0
    for k, e in zip(("rr_ms", "qrs_ms", "pr_ms", "qt_ms"), expect):
        assert np.nanmedian(ie[k]) == pytest.approx(e, abs=TOL_MS), k


def test_missing_and_extra_beats_are_counted_not_averaged():
    y, r = _ecg()
    p, _ = _ecg(drop=(4,))
    ie = interval_errors(p, y, fs=FS)
    assert (ie["matched"], ie["missed"], ie["extra"], ie["unmatched"]) == (r.size - 1, 1, 0, 1)
    # RR across the gap is not a huge error: it is NaN (next reference beat unmatched)
    assert np.nanmax(np.abs(ie["rr_ms"])) <= TOL_MS
    assert np.isnan(ie["rr_ms"]).sum() == 2  # beat before the gap, and the last beat
    q, _ = _ecg(drop=(4,), extra=(0.5 + 4 * 0.9 + 0.3,))  # a beat at the wrong time
    ie2 = interval_errors(q, y, fs=FS)
    assert (ie2["missed"], ie2["extra"]) == (1, 1)


def test_match_tolerance_is_75_ms():
    y, r = _ecg()
    near, _ = _ecg(shifts={k: 0.060 for k in WAVES})
    far, _ = _ecg(shifts={k: 0.100 for k in WAVES})
    ie_near = interval_errors(near, y, fs=FS)
    ie_far = interval_errors(far, y, fs=FS)
    assert ie_near["matched"] >= r.size - 1  # the last beat may slide off the window
    assert ie_far["matched"] == 0 and ie_far["unmatched"] >= 2 * r.size - 1
    assert ie_far["qrs_ms"].size == 0


def test_window_metrics_keys_and_values():
    y, r = _ecg()
    p, _ = _ecg(shifts={"S": 0.010})
    m = window_metrics(p, y, fs=FS)
    for k in ("pcc", "amp_err_paper_pct", "amp_err_beat_pct", "n_beats_matched",
              "n_beats_unmatched", "n_beats_missed", "n_beats_extra"):
        assert k in m
    for k in ("rr", "qrs", "pr", "qt"):
        assert f"{k}_ms" in m and f"{k}_bias_ms" in m
    assert m["qrs_bias_ms"] == pytest.approx(10.0, abs=TOL_MS)
    assert m["qrs_ms"] == pytest.approx(10.0, abs=TOL_MS)
    assert m["qt_ms"] == pytest.approx(0.0, abs=TOL_MS)
    assert m["n_beats_matched"] == r.size and m["n_beats_unmatched"] == 0
    assert 0.5 < m["pcc"] < 1.0
    same = window_metrics(y, y, fs=FS)
    assert same["pcc"] == pytest.approx(1.0)
    assert same["amp_err_paper_pct"] == 0.0 and same["amp_err_beat_pct"] == 0.0


# --------------------------------------------------------------------------- summaries
def test_summarise_groups_medians_iqr_and_nan_handling():
    rows = [
        {"subject_id": "S1", "posture": "supine", "pcc": v, "n_beats_matched": 10, "seen": False}
        for v in (0.8, 0.9, 1.0, 0.7)
    ] + [
        {"subject_id": "S2", "posture": "prone", "pcc": v, "n_beats_matched": 9, "seen": False}
        for v in (0.5, float("nan"))
    ] + [{"subject_id": "S2", "posture": "supine", "pcc": 0.6, "n_beats_matched": 8}]
    out = summarise(rows)
    assert out["by"] == ["subject_id", "posture"]
    s1 = out["subject_id"]["S1"]
    assert s1["n"] == 4 and s1["pcc_n"] == 4
    assert s1["pcc"] == pytest.approx(0.85)  # the median
    assert s1["pcc_q25"] == pytest.approx(0.775) and s1["pcc_q75"] == pytest.approx(0.925)
    assert s1["pcc_iqr"] == pytest.approx(0.15)
    assert "seen_n" not in s1  # booleans are not metrics
    s2 = out["subject_id"]["S2"]
    assert s2["n"] == 3 and s2["pcc_n"] == 2 and s2["pcc"] == pytest.approx(0.55)  # NaN out
    assert list(out["posture"]) == ["prone", "supine"]
    assert out["posture"]["supine"]["n"] == 5
    overall = out["overall"]
    assert overall["n"] == 7 and overall["pcc_n"] == 6
    assert overall["pcc"] == pytest.approx(0.75)
    assert overall["n_beats_matched_sum"] == 66
    assert [(g["subject_id"], g["posture"], g["n"]) for g in out["groups"]] == [
        ("S1", "supine", 4), ("S2", "prone", 2), ("S2", "supine", 1)]
    json.dumps(out)  # plain Python all the way down
    sel = summarise(rows, metrics=["pcc"])
    assert "pcc" in sel["overall"] and "n_beats_matched" not in sel["overall"]
    with pytest.raises(KeyError, match="not numeric keys"):
        summarise(rows, metrics=["t0"])
    only = summarise(rows, by=())
    assert only["overall"]["n"] == 7 and only["groups"] == []
    with pytest.raises(KeyError, match="lacks grouping key"):
        summarise([{"pcc": 1.0}])
    with pytest.raises(ValueError, match="clash"):
        summarise(rows, by=("overall",))
