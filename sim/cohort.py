"""Cohort generation: many subjects × postures, written atomically, resumable, with an index.

Each recording gets its own integer seed derived from the cohort seed, the subject index and the
posture (``numpy.random.SeedSequence``), stored in its ``seed`` attr; together with its
``sim_config`` attr that regenerates the file exactly. A killed run leaves only complete files
(each written to a temporary sibling and renamed) and an index listing exactly those; running
the same command again skips every finished recording.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .body import POSTURES
from .chain import SimConfig, bcg_simulate
from .io import cohort_index_read, cohort_index_write, file_sha256, recording_write
from .subject import SubjectProfile, cohort_draw

__all__ = ["CohortSpec", "cohort_generate", "recording_generate", "subject_prefix", "recording_seed", "FORMATS"]

log = logging.getLogger(__name__)
FORMATS = {"netcdf": ".nc", "zarr": ".zarr"}


@dataclasses.dataclass(frozen=True)
class CohortSpec:
    """What to generate. ``weight`` (kg) overrides every subject's drawn body mass."""

    n_subjects: int = 1
    postures: tuple[str, ...] = ("supine",)
    duration: float = 60.0
    fs: float = 250.0
    seed: int = 0
    format: str = "netcdf"
    weight: float | None = None
    pathologies: tuple[tuple[str, float], ...] = (("normal", 1.0),)

    def __post_init__(self) -> None:
        if not isinstance(self.n_subjects, int) or self.n_subjects < 1:
            raise ValueError(f"subjects = {self.n_subjects!r}; allowed: an integer >= 1")
        if not self.postures:
            raise ValueError("at least one posture is needed")
        for p in self.postures:
            if p not in POSTURES:
                raise ValueError(f"unknown posture {p!r}; choose from {', '.join(POSTURES)} or 'all'")
        if len(set(self.postures)) != len(self.postures):
            raise ValueError(f"postures repeat: {', '.join(self.postures)}")
        if self.format not in FORMATS:
            raise ValueError(f"format {self.format!r} unknown; choose one of: {', '.join(FORMATS)}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed = {self.seed!r}; allowed: an integer >= 0")


def recording_seed(seed: int, subject_index: int, posture: str) -> int:
    """The integer seed of one recording, derived from the cohort seed (stable across runs)."""
    ss = np.random.SeedSequence([int(seed), int(subject_index), POSTURES.index(posture)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def cohort_subjects(spec: CohortSpec) -> list[SubjectProfile]:
    """The cohort's subjects. Ids carry the cohort seed (``S<seed>-<index>``): cohorts made with
    different seeds hold different simulated people, and evaluation must not mistake one for
    another (it flags subjects seen in training by id)."""
    overrides = {"weight": float(spec.weight)} if spec.weight is not None else {}
    return cohort_draw(spec.n_subjects, np.random.SeedSequence([spec.seed, 1 << 20]),
                       pathologies=dict(spec.pathologies), id_prefix=subject_prefix(spec.seed),
                       **overrides)


def subject_prefix(seed: int) -> str:
    """Subject-id prefix of a cohort made with ``seed``."""
    return f"S{int(seed)}-"


def _generate_one(path: Path, spec: CohortSpec, subject: SubjectProfile, index: int,
                  posture: str, config: SimConfig) -> int:
    seed = recording_seed(spec.seed, index, posture)
    ds = bcg_simulate(subject, duration=spec.duration, fs=spec.fs, posture=posture,
                      config=config, rng=seed)
    recording_write(ds, path, format=spec.format)
    return seed


def recording_generate(path: str | Path, spec: CohortSpec, *,
                       config: SimConfig | None = None) -> Path:
    """Generate the first subject's recording in the first posture of ``spec`` to one file.

    The file is byte-identical to that recording inside a cohort made with the same spec.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    subject = cohort_subjects(spec)[0]
    _generate_one(path, spec, subject, 0, spec.postures[0], config or SimConfig())
    return path


def cohort_generate(out: str | Path, spec: CohortSpec, *, config: SimConfig | None = None,
                    progress: Callable[[int, int, str], None] | None = None) -> list[Path]:
    """Generate every (subject, posture) recording of ``spec`` into directory ``out``.

    Returns the recording paths in index order. ``progress(done, total, name)`` is called after
    each recording (the CLI draws a progress bar with it; the library never prints).
    """
    config = config or SimConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = FORMATS[spec.format]
    subjects = cohort_subjects(spec)
    index_config = {"spec": {**dataclasses.asdict(spec)}, "sim": config.to_dict()}
    done: dict[str, dict] = {}
    if (out / "cohort.json").exists():
        previous = cohort_index_read(out)
        if previous.get("config") != _jsonable(index_config):
            raise ValueError(f"{out} already holds a cohort made with a different "
                             "configuration; choose another --out or delete it")
        done = {e["file"]: e for e in previous["recordings"]}
    jobs = [(i, s, p) for i, s in enumerate(subjects) for p in spec.postures]
    entries, paths = [], []
    for n, (i, subject, posture) in enumerate(jobs, start=1):
        name = f"{subject.subject_id}_{posture}{suffix}"
        path = out / name
        entry = done.get(name)
        if entry is not None and path.exists() and file_sha256(path) == entry["sha256"]:
            log.info("skipping finished recording %s", name)
        else:
            seed = _generate_one(path, spec, subject, i, posture, config)
            entry = {"file": name, "subject_id": subject.subject_id, "posture": posture,
                     "seed": seed, "duration_s": float(spec.duration), "fs": float(spec.fs),
                     "sha256": file_sha256(path)}
        entries.append(entry)
        paths.append(path)
        cohort_index_write(out, entries, config=index_config)
        if progress is not None:
            progress(n, len(jobs), name)
    return paths


def _jsonable(obj):
    import json

    return json.loads(json.dumps(obj))
