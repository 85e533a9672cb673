"""Long checks (`make test-slow`): long records and larger cohorts."""

import json

import numpy as np
import pytest

from sim.chain import SimConfig, bcg_simulate
from sim.io import recording_validate
from sim.subject import cohort_draw

pytestmark = pytest.mark.slow


def test_one_hour_record_valid_and_stable():
    ds = bcg_simulate(duration=3600.0, fs=250.0, rng=11)
    recording_validate(ds)
    assert ds.sizes["time"] == 900_000
    assert np.isfinite(ds["bcg"].values).all()
    # the operating point must not drift: hourly halves agree within 2 % (no filter blow-up)
    half = ds.sizes["time"] // 2
    a, b = (float(np.median(ds["bcg"].values[s])) for s in (slice(0, half), slice(half, None)))
    assert abs(a - b) < 0.02 * abs(a)
    assert len(json.loads(ds.attrs["events"])) > 5  # an hour of default disturbances


def test_rj_latency_large_cohort_all_postures():
    quiet = SimConfig().replace(disturbances={"vibration": False, "motion": False})
    lat = []
    for s in cohort_draw(24, 21):
        for p in ("supine", "prone", "left", "right"):
            ds = bcg_simulate(s, duration=30.0, fs=250.0, posture=p, rng=2, config=quiet)
            lat.append(np.nanmedian(ds["j_peak"].values - ds["r_peak"].values))
    assert 0.15 <= np.median(lat) <= 0.30
