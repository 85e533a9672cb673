"""Training: Adam over 10-s windows, checkpoints every epoch, resume after a kill.

A run folder holds everything needed to use and reproduce the model:

``config.json``        the :class:`~med2ecg.config.TrainConfig`
``normalisation.json`` the ECG target standardisation (training-set mean/std in mV) and the
                       BCG preprocessing it assumes (per-window filter → unit peak → artefact
                       removal → z-score)
``subjects.json``      training subjects (evaluation flags any overlap)
``landmark.pt``        the frozen landmark U-Net (trained on training-subject ECG only)
``checkpoint.pt``      model + optimiser + sampler RNG + history, rewritten atomically each epoch
``model.pt``           final weights; ``history.json`` per-epoch losses

Checkpoints are loaded with ``torch.load(weights_only=True)``: they contain only tensors and
plain containers, never pickled code. Training is deterministic on CPU for a given seed: all
randomness comes from generators seeded from ``config.seed`` inside a forked RNG scope, so the
caller's global RNG state is untouched.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .config import TrainConfig
from .constants import FS, WINDOW
from .data import WindowSet, sample_weights
from .losses import Med2ECGLoss, baseline_loss
from .models import model_build
from .models.landmark import LandmarkUNet, landmark_train
from .preprocess import preprocess_bcg

__all__ = ["train", "run_load", "RunFiles", "device_resolve", "atomic_torch_save"]

log = logging.getLogger(__name__)


class RunFiles:
    """Paths inside a run folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.norm = self.root / "normalisation.json"
        self.subjects = self.root / "subjects.json"
        self.landmark = self.root / "landmark.pt"
        self.checkpoint = self.root / "checkpoint.pt"
        self.model = self.root / "model.pt"
        self.history = self.root / "history.json"


def device_resolve(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but CUDA is not available; use 'cpu' or 'auto'")
        return torch.device("cuda")
    return torch.device("cpu")


def atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def _check_windows(ws: WindowSet) -> None:
    if len(ws) == 0:
        raise ValueError("no training windows: the data set is empty")
    if ws.bcg.shape[-1] != WINDOW or ws.ecg.shape[-1] != WINDOW:
        raise ValueError(f"windows must have {WINDOW} samples (10 s at {FS:g} Hz), got "
                         f"{ws.bcg.shape[-1]}")
    for name in ("bcg", "ecg"):
        if not np.all(np.isfinite(getattr(ws, name))):
            raise ValueError(f"training windows contain NaN or inf in {name}")


def train(ws: WindowSet, *, config: TrainConfig, out: str | Path,
          progress: Callable[[str, int, int, dict], None] | None = None) -> Path:
    """Train ``config.model`` on ``ws`` into run folder ``out``; resumes if ``out`` has a
    checkpoint made with the same config (a different config is an error).

    ``progress(stage, done, total, info)`` is called per batch (stage "landmark" or "train").
    Returns the run folder.
    """
    _check_windows(ws)
    files = RunFiles(out)
    files.root.mkdir(parents=True, exist_ok=True)
    if files.config.exists():
        previous = TrainConfig.from_file(files.config)
        if previous != config:
            raise ValueError(f"{files.root} holds a run with a different config; choose another "
                             "--out or delete it")
    _atomic_text(files.config, config.to_json())
    device = device_resolve(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    with torch.random.fork_rng(devices=[]):
        # scoped seeding: restores the caller's global RNG state on exit
        torch.manual_seed(config.seed)
        return _train(ws, config=config, files=files, device=device, progress=progress)


def _train(ws, *, config, files, device, progress):
    ecg_mean = float(ws.ecg.mean())
    ecg_std = float(ws.ecg.std())
    if ecg_std <= 0:
        raise ValueError("training ECG has zero variance")
    norm = {"ecg_mean_mv": ecg_mean, "ecg_std_mv": ecg_std, "fs": FS, "window": WINDOW,
            "bcg_preprocessing": "per-window: Butterworth 0.5–20 Hz (3rd order, zero-phase) → "
                                 "unit peak → artefact removal (E_m 0.0015, E_t 0.0001, T_t 1 s) "
                                 "→ z-score", "package_version": __version__}
    _atomic_text(files.norm, json.dumps(norm, indent=2))
    _atomic_text(files.subjects, json.dumps({"train_subjects": [str(s) for s in ws.subjects]},
                                            indent=2))
    x = torch.from_numpy(preprocess_bcg(ws.bcg, fs=FS).astype(np.float32))
    y = torch.from_numpy(((ws.ecg - ecg_mean) / ecg_std).astype(np.float32))
    regions = torch.from_numpy(ws.regions.astype(np.int64))

    loss_kind = config.resolved_loss
    landmark = None
    if loss_kind == "composite" and config.lambda2 > 0 and config.landmark_epochs > 0:
        landmark = LandmarkUNet()
        if files.landmark.exists():
            landmark.load_state_dict(torch.load(files.landmark, weights_only=True))
        else:
            gen = torch.Generator().manual_seed(config.seed + 1)
            landmark_train(landmark, y, torch.from_numpy(ws.landmarks.astype(np.float32)),
                           epochs=config.landmark_epochs, generator=gen)
            atomic_torch_save(landmark.state_dict(), files.landmark)
        for p in landmark.parameters():
            p.requires_grad_(False)
        landmark.eval().to(device)
    criterion = Med2ECGLoss(landmark, lambda1=config.lambda1, lambda2=config.lambda2,
                            max_shift=config.max_shift) if loss_kind == "composite" else None

    model = model_build(config.model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed + 2)
    weights = torch.as_tensor(sample_weights(ws, real_weight=config.real_weight))
    history: list[dict] = []
    start_epoch = 0
    if files.checkpoint.exists():
        ck = torch.load(files.checkpoint, weights_only=True, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["sampler_rng"])
        torch.set_rng_state(ck["torch_rng"])
        history = json.loads(ck["history"])
        start_epoch = int(ck["epoch"]) + 1
        log.info("resuming %s at epoch %d", files.root, start_epoch + 1)
    n = len(ws)
    steps = math.ceil(n / config.batch_size)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        order = torch.multinomial(weights, n, replacement=True, generator=gen)
        t0 = time.perf_counter()
        sums: dict[str, float] = {}
        for b in range(steps):
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            xb, yb, rb = x[idx].to(device), y[idx].to(device), regions[idx].to(device)
            pred = model(xb)
            if criterion is not None:
                loss, parts = criterion(pred, yb, rb)
                parts = {k: float(v.detach()) for k, v in parts.items()}
            else:
                loss = baseline_loss(pred, yb)
                parts = {"l1": float(loss.detach())}
            aux = getattr(model, "aux_loss", None)
            if aux is not None and config.aux_weight > 0:
                loss = loss + config.aux_weight * aux
                parts["aux"] = float(aux.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            parts["total"] = float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            if progress is not None:
                progress("train", epoch * steps + b + 1, config.epochs * steps,
                         {"epoch": epoch + 1, "loss": parts["total"]})
        row = {"epoch": epoch + 1, "seconds": time.perf_counter() - t0,
               **{k: v / n for k, v in sums.items()}}
        history.append(row)
        log.info("epoch %d/%d loss %.4f", epoch + 1, config.epochs, row["total"])
        atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                           "sampler_rng": gen.get_state(), "torch_rng": torch.get_rng_state(),
                           "epoch": epoch, "history": json.dumps(history)}, files.checkpoint)
    atomic_torch_save(model.state_dict(), files.model)
    _atomic_text(files.history, json.dumps(history, indent=2))
    return files.root


def run_load(run: str | Path, *, device: str = "cpu") -> tuple[torch.nn.Module, TrainConfig, dict]:
    """Load a finished run: (model in eval mode, config, normalisation)."""
    files = RunFiles(run)
    for p in (files.config, files.norm, files.model):
        if not p.exists():
            raise FileNotFoundError(f"{files.root} is not a finished run: {p.name} is missing")
    config = TrainConfig.from_file(files.config)
    norm = json.loads(files.norm.read_text())
    model = model_build(config.model)
    model.load_state_dict(torch.load(files.model, weights_only=True, map_location=device))
    return model.eval().to(device_resolve(device)), config, norm
