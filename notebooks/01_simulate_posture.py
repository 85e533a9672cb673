# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Simulating one sleeper in four postures
# Only library calls: the physics lives in `sim`, this notebook just looks at it.

# %%
import numpy as np

from sim.chain import SimConfig, bcg_simulate
from sim.plot import recording_figure
from sim.subject import subject_draw

subject = subject_draw(3, subject_id="S003")
quiet = SimConfig().replace(disturbances={"vibration": False, "motion": False})
recordings = {p: bcg_simulate(subject, duration=30.0, fs=250.0, posture=p, rng=3, config=quiet)
              for p in ("supine", "prone", "left", "right")}

# %%
for posture, ds in recordings.items():
    rj = np.nanmedian(ds["j_peak"].values - ds["r_peak"].values)
    print(f"{posture:7s} mean BCG {float(ds['bcg'].mean()):.3f} V, load "
          f"{float(ds['load'].mean()):.1f} N, R→J {rj:.3f} s")

# %%
recording_figure(recordings["prone"], duration=8.0)
