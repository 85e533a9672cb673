"""Training configuration: frozen, unknown keys rejected, ranges checked (pydantic v2).

``med2ecg`` may not import ``sim`` (DESIGN §2), so it does not share ``sim``'s config base;
pydantic gives the same guarantees (errors name the field and the allowed range).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["TrainConfig", "ValidationError", "MODEL_NAMES"]

MODEL_NAMES = ("med2ecg", "bilstm", "unet", "attn-unet", "li2021")


class TrainConfig(BaseModel):
    """Everything that determines a training run (stored as ``config.json`` in the run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Literal["med2ecg", "bilstm", "unet", "attn-unet", "li2021"] = "med2ecg"
    epochs: int = Field(30, ge=1, le=10_000, description="passes over the training windows")
    batch_size: int = Field(24, ge=1, le=4096, description="paper: 24")
    lr: float = Field(1e-3, gt=0, le=1.0, description="Adam learning rate (paper: 1e-3)")
    weight_decay: float = Field(0.0, ge=0, le=1.0)
    seed: int = Field(0, ge=0)
    loss: Literal["auto", "composite", "l1"] = Field(
        "auto", description="composite = L_sim + λ1 L_wav + λ2 L_dal; auto: composite for "
                            "med2ecg, l1 for baselines")
    lambda1: float = Field(1.0, ge=0, le=100)
    lambda2: float = Field(0.1, ge=0, le=100)
    max_shift: int = Field(10, ge=0, le=250, description="shift tolerance Δ in samples (10 = 40 ms)")
    aux_weight: float = Field(0.01, ge=0, le=10, description="MoE load-balancing weight")
    landmark_epochs: int = Field(8, ge=0, le=1000, description="landmark U-Net epochs (0: no L_dal)")
    real_weight: float = Field(5.0, ge=0, le=1e4, description="sampling weight of a real window "
                                                              "relative to a synthetic one")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(1, ge=1, le=256, description=(
        "torch intra-op threads (None: torch's default). 1 by default: on a 2-core machine the "
        "Bi-GRU's many small ops slow down ~50x when a second thread waits on a busy core"))

    @property
    def resolved_loss(self) -> str:
        if self.loss != "auto":
            return self.loss
        return "composite" if self.model == "med2ecg" else "l1"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=2, sort_keys=True)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        return cls.model_validate_json(Path(path).read_text())
