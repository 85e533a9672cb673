"""Reconstruction networks: Med2ECG and the baselines, plus the landmark detector.

Every model maps a BCG window ``(..., T)`` to an ECG window ``(..., T)``; ``T`` must be a
positive multiple of ``LENGTH_MULTIPLE`` (4; the 2500-sample ``WINDOW`` is one). Each takes a
frozen, validated config dataclass (``Model.config_cls``); :func:`model_build` builds one by name.
"""

from __future__ import annotations

import dataclasses

from torch import nn

from .baselines import (
    AttnUNet,
    BiLSTM,
    BiLSTMConfig,
    Li2021,
    Li2021Config,
    UNet1D,
    UNetConfig,
)
from .landmark import LandmarkConfig, LandmarkUNet, landmark_train
from .med2ecg import DISPATCH_MODES, LENGTH_MULTIPLE, Med2ECG, Med2ECGConfig

__all__ = [
    "MODELS", "model_build", "LENGTH_MULTIPLE", "DISPATCH_MODES",
    "Med2ECG", "Med2ECGConfig", "BiLSTM", "BiLSTMConfig", "UNet1D", "AttnUNet", "UNetConfig",
    "Li2021", "Li2021Config", "LandmarkUNet", "LandmarkConfig", "landmark_train",
]

#: the one registry of model names (``config.MODEL_NAMES`` lists the same names)
MODELS: dict[str, type[nn.Module]] = {
    "med2ecg": Med2ECG,
    "bilstm": BiLSTM,
    "unet": UNet1D,
    "attn-unet": AttnUNet,
    "li2021": Li2021,
}


def model_build(name: str, **kwargs) -> nn.Module:
    """Build model ``name`` with its config fields given as keyword arguments.

    >>> model_build("unet", channels=(8, 16, 32, 64)).config.channels
    (8, 16, 32, 64)

    Raises ``ValueError`` naming the allowed models for an unknown name, the allowed fields
    for an unknown keyword, and the allowed range for a bad value.
    """
    try:
        cls = MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}") from None
    config_cls = cls.config_cls
    fields = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; allowed: "
                         f"{', '.join(fields)}")
    return cls(config_cls(**kwargs))
