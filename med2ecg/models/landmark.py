"""Landmark detector for the anchor loss L_dal (DESIGN §5).

A small 1-D U-Net maps an ECG window ``(..., T)`` to logits ``(..., 4, T)``, one channel per
``constants.LANDMARKS`` (p_onset, qrs_onset, qrs_offset, t_offset). It is trained on the
training subjects' reference ECG against ±20 ms box masks (``WindowSet.landmarks``) with
:func:`landmark_train`, then frozen; ``losses.Med2ECGLoss`` compares its masks on the
reconstruction and on the reference with a Tversky loss. It must never see test subjects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..constants import LANDMARKS
from .baselines import UNetCore
from .med2ecg import (
    LENGTH_MULTIPLE,
    _check_channels,
    _check_odd_kernel,
    pad_to_multiple,
    signal_batch,
    signal_unbatch,
)

__all__ = ["LandmarkConfig", "LandmarkUNet", "landmark_train", "landmark_loss"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandmarkConfig:
    """channels: U-Net width per level (3 levels → ×4 pooling); kernel_size: conv kernel."""

    channels: tuple[int, ...] = (8, 16, 32)
    kernel_size: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", _check_channels("channels", self.channels, 2, 6,
                                                             2, 256))
        _check_odd_kernel("kernel_size", self.kernel_size, 1, 31)


class LandmarkUNet(nn.Module):
    """ECG ``(..., T)`` → landmark logits ``(..., 4, T)`` (channel order = ``LANDMARKS``)."""

    config_cls = LandmarkConfig
    length_multiple = LENGTH_MULTIPLE

    def __init__(self, config: LandmarkConfig | None = None):
        super().__init__()
        self.config = cfg = config if config is not None else LandmarkConfig()
        self.net = UNetCore(cfg.channels, c_out=len(LANDMARKS), kernel_size=cfg.kernel_size)

    def forward(self, ecg: Tensor) -> Tensor:
        xb, lead = signal_batch(ecg, multiple=self.length_multiple)
        t = xb.shape[-1]
        y = self.net(pad_to_multiple(xb, self.net.multiple))[..., :t]
        return signal_unbatch(y, lead)


def landmark_loss(logits: Tensor, masks: Tensor, *, eps: float = 1.0) -> Tensor:
    """BCE-with-logits + soft Dice (``1 − (2·Σpg + eps) / (Σp + Σg + eps)`` per channel), both
    averaged over windows and landmarks. ``logits``, ``masks``: ``(..., 4, T)``."""
    bce = F.binary_cross_entropy_with_logits(logits, masks)
    p = torch.sigmoid(logits)
    inter = (p * masks).sum(dim=-1)
    dice = 1 - (2 * inter + eps) / (p.sum(dim=-1) + masks.sum(dim=-1) + eps)
    return bce + dice.mean()


def landmark_train(net: LandmarkUNet, ecg: Tensor, masks: Tensor, *, epochs: int,
                   lr: float = 1e-3, batch_size: int = 32,
                   generator: torch.Generator | None = None) -> list[float]:
    """Train ``net`` on training-subject ECG, then freeze it; return the mean loss per epoch.

    Parameters
    ----------
    net : the landmark U-Net (trained in place on the device of its parameters).
    ecg : ``(N, T)`` reference ECG of TRAINING subjects only (normalised as the model target).
    masks : ``(N, 4, T)`` landmark boxes in {0, 1} (``WindowSet.landmarks``).
    epochs : passes over the windows (≥ 1).
    lr, batch_size : Adam learning rate and mini-batch size.
    generator : a ``torch.Generator`` for the shuffling order (CPU); ``None`` uses torch's
        default generator.

    On return every parameter has ``requires_grad=False`` and the net is in ``eval()`` mode;
    gradients still flow through it to its input (what ``Med2ECGLoss`` needs).
    """
    ecg = torch.as_tensor(ecg, dtype=torch.float32)
    masks = torch.as_tensor(masks, dtype=torch.float32)
    if ecg.dim() != 2:
        raise ValueError(f"ecg must have shape (N, T), got {tuple(ecg.shape)}")
    n, t = ecg.shape
    if tuple(masks.shape) != (n, len(LANDMARKS), t):
        raise ValueError(f"masks must have shape (N, {len(LANDMARKS)}, T) = "
                         f"{(n, len(LANDMARKS), t)}, got {tuple(masks.shape)}")
    if n == 0:
        raise ValueError("no training windows for the landmark detector")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 10_000:
        raise ValueError(f"epochs={epochs!r} must be an integer in [1, 10000]")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be an integer ≥ 1")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0")
    device = next(net.parameters()).device
    for p in net.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    history: list[float] = []
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, mb = ecg[idx].to(device), masks[idx].to(device)
            loss = landmark_loss(net(xb), mb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append(total / n)
        log.info("landmark epoch %d/%d loss %.4f", epoch + 1, epochs, history[-1])
    for p in net.parameters():
        p.requires_grad_(False)
    net.eval()
    return history
