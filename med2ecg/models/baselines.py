"""Baselines on the same windows and splits as Med2ECG (DESIGN §5).

All map ``(..., T)`` → ``(..., T)`` for any ``T`` that is a positive multiple of
``LENGTH_MULTIPLE`` (4); the U-Nets pool ×8 and zero-pad the right end internally to a multiple
of 8, then crop the output back to ``T``. They are trained with ``losses.baseline_loss`` (L1).

``BiLSTM``
    Zhang et al. 2024 (SPML) style: conv embedding downsampled ×4 (stride-4 conv), 2-layer
    bidirectional LSTM (hidden 64), linear projection, ConvTranspose ×4 back to ``T``, conv head.
    Zhang trained with a Huber loss on 1-min windows; here it sees the same 10-s windows as
    every other model.
``UNet1D``
    4 levels, 16→32→64→128 channels, two k = 7 conv–BN–GELU per level, max-pool ×2,
    ConvTranspose ×2 up, concatenated skips, 1×1 head.
``AttnUNet``
    The same U-Net with Oktay et al. (2018) additive attention gates on the skips, in the style
    of Rec-AUNet (no code or text of Rec-AUNet was available; this is the standard 1-D form).
    Gate: ``α = σ(ψ(ReLU(W_x x + W_g g)))``, skip ← ``α·x``; the gating signal ``g`` is the
    up-sampled decoder feature at the skip's resolution (as in the common PyTorch port).
``Li2021``
    Li, Tian, Zhu & Wu, "Inferring ECG from PPG … lightweight neural network" (arXiv
    2012.04949), ≈ 40 K parameters. No code was available; implemented from the paper's
    description, with these interpretations:

    * FEM (feature-extraction module): parallel convolutions with kernels 3, 7 and 15 on the
      same input (three receptive fields), each conv–BN–GELU, concatenated and fused by a 1×1
      conv; used at full and at half resolution, each followed by max-pool ×2 (×4 in total).
    * FTM (feature-transformation module): residual depthwise-separable block at the
      bottleneck (depthwise k = 15 conv, pointwise 1×1, BN, GELU, skip connection), ×2.
    * Attention gate (channel correlation): squeeze the bottleneck features over time
      (``z = mean_t F``), compute the per-window channel-to-channel correlation matrix ``R``
      (Pearson over time), propagate the squeezed vector through it (``R z``), map with a 1×1
      linear layer and a sigmoid to a per-channel gate that rescales ``F``.
    * Decoder: ConvTranspose ×2 twice with additive skips from the FEM outputs, conv head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .med2ecg import (
    LENGTH_MULTIPLE,
    ConvBlock,
    _check_channels,
    _check_int,
    _check_odd_kernel,
    pad_to_multiple,
    signal_batch,
    signal_unbatch,
)

__all__ = [
    "BiLSTMConfig", "BiLSTM", "UNetConfig", "UNet1D", "AttnUNet", "Li2021Config", "Li2021",
    "UNetCore",
]


# ---------------------------------------------------------------------------------------------
# BiLSTM


@dataclass(frozen=True)
class BiLSTMConfig:
    """embed_channels: conv embedding width; hidden: LSTM hidden per direction; layers: LSTM
    layers; kernel_size: embedding/head conv kernel."""

    embed_channels: int = 64
    hidden: int = 64
    layers: int = 2
    kernel_size: int = 7

    def __post_init__(self) -> None:
        _check_int("embed_channels", self.embed_channels, 4, 512)
        _check_int("hidden", self.hidden, 4, 512)
        _check_int("layers", self.layers, 1, 6)
        _check_odd_kernel("kernel_size", self.kernel_size, 1, 31)


class BiLSTM(nn.Module):
    """Conv embedding ×4 down → 2-layer BiLSTM → linear → ConvTranspose ×4 → conv head."""

    config_cls = BiLSTMConfig
    length_multiple = LENGTH_MULTIPLE

    def __init__(self, config: BiLSTMConfig | None = None):
        super().__init__()
        self.config = cfg = config if config is not None else BiLSTMConfig()
        k, c = cfg.kernel_size, cfg.embed_channels
        f = self.length_multiple
        self.embed = nn.Sequential(
            nn.Conv1d(1, c // 2, k, padding=k // 2), nn.GELU(),
            nn.Conv1d(c // 2, c, kernel_size=f, stride=f), nn.GELU())
        self.lstm = nn.LSTM(c, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                            bidirectional=True)
        self.proj = nn.Linear(2 * cfg.hidden, c)
        self.up = nn.ConvTranspose1d(c, c // 2, kernel_size=f, stride=f)
        self.head = nn.Sequential(nn.GELU(), nn.Conv1d(c // 2, 1, k, padding=k // 2))

    def forward(self, x: Tensor) -> Tensor:
        xb, lead = signal_batch(x, multiple=self.length_multiple)
        h, _ = self.lstm(self.embed(xb).transpose(1, 2))   # (N, T/4, 2·hidden)
        h = self.proj(h).transpose(1, 2)
        return signal_unbatch(self.head(self.up(h)), lead)


# ---------------------------------------------------------------------------------------------
# U-Nets


class AttentionGate(nn.Module):
    """Oktay et al. 2018 additive attention gate: ``x · σ(ψ(ReLU(W_x x + W_g g))))``."""

    def __init__(self, c_x: int, c_g: int, c_int: int):
        super().__init__()
        self.w_x = nn.Sequential(nn.Conv1d(c_x, c_int, 1, bias=False), nn.BatchNorm1d(c_int))
        self.w_g = nn.Sequential(nn.Conv1d(c_g, c_int, 1, bias=False), nn.BatchNorm1d(c_int))
        self.psi = nn.Sequential(nn.Conv1d(c_int, 1, 1), nn.BatchNorm1d(1), nn.Sigmoid())

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        return x * self.psi(F.relu(self.w_x(x) + self.w_g(g)))


class UNetCore(nn.Module):
    """1-D U-Net on ``(N, c_in, T)`` → ``(N, c_out, T)``, ``T`` divisible by ``2**(levels-1)``.

    Shared by ``UNet1D``, ``AttnUNet`` and ``landmark.LandmarkUNet``.
    """

    def __init__(self, channels: tuple[int, ...], *, c_in: int = 1, c_out: int = 1,
                 kernel_size: int = 7, attention: bool = False):
        super().__init__()
        self.encoder = nn.ModuleList(
            ConvBlock(c_in if i == 0 else channels[i - 1], c, kernel_size=kernel_size)
            for i, c in enumerate(channels))
        ups, decs, gates = [], [], []
        c_prev = channels[-1]
        for c in reversed(channels[:-1]):
            ups.append(nn.ConvTranspose1d(c_prev, c, kernel_size=2, stride=2))
            decs.append(ConvBlock(2 * c, c, kernel_size=kernel_size))
            gates.append(AttentionGate(c, c, max(c // 2, 1)) if attention else nn.Identity())
            c_prev = c
        self.ups = nn.ModuleList(ups)
        self.decoder = nn.ModuleList(decs)
        self.gates = nn.ModuleList(gates)
        self.attention = attention
        self.head = nn.Conv1d(channels[0], c_out, 1)
        self.multiple = 2 ** (len(channels) - 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        h = x
        for i, block in enumerate(self.encoder):
            if i > 0:
                skips.append(h)
                h = F.max_pool1d(h, 2)
            h = block(h)
        for up, block, gate, skip in zip(self.ups, self.decoder, self.gates, reversed(skips),
                                           strict=True):
            g = up(h)
            if self.attention:
                skip = gate(skip, g)
            h = block(torch.cat([g, skip], dim=1))
        return self.head(h)


@dataclass(frozen=True)
class UNetConfig:
    """channels: width per level (4 levels → 3 poolings); kernel_size: conv kernel (odd)."""

    channels: tuple[int, ...] = (16, 32, 64, 128)
    kernel_size: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", _check_channels("channels", self.channels, 2, 6,
                                                             2, 512))
        _check_odd_kernel("kernel_size", self.kernel_size, 1, 31)


class UNet1D(nn.Module):
    """Plain 1-D U-Net baseline (see the module docstring)."""

    config_cls = UNetConfig
    length_multiple = LENGTH_MULTIPLE
    attention = False

    def __init__(self, config: UNetConfig | None = None):
        super().__init__()
        self.config = cfg = config if config is not None else UNetConfig()
        self.net = UNetCore(cfg.channels, kernel_size=cfg.kernel_size, attention=self.attention)

    def forward(self, x: Tensor) -> Tensor:
        xb, lead = signal_batch(x, multiple=self.length_multiple)
        t = xb.shape[-1]
        y = self.net(pad_to_multiple(xb, self.net.multiple))[..., :t]
        return signal_unbatch(y, lead)


class AttnUNet(UNet1D):
    """1-D attention U-Net (Rec-AUNet style): ``UNet1D`` with Oktay gates on the skips."""

    attention = True


# ---------------------------------------------------------------------------------------------
# Li et al. 2021


@dataclass(frozen=True)
class Li2021Config:
    """channels: (stem, FEM-1, FEM-2) widths; kernels: the FEM's parallel kernel sizes;
    ftm_kernel: depthwise kernel in the FTM; n_ftm: FTM blocks at the bottleneck."""

    channels: tuple[int, ...] = (12, 20, 32)
    kernels: tuple[int, ...] = (3, 7, 15)
    ftm_kernel: int = 15
    n_ftm: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", _check_channels("channels", self.channels, 3, 3,
                                                             2, 256))
        ks = _check_channels("kernels", self.kernels, 1, 5, 1, 63)
        for i, k in enumerate(ks):
            _check_odd_kernel(f"kernels[{i}]", k, 1, 63)
        object.__setattr__(self, "kernels", ks)
        _check_odd_kernel("ftm_kernel", self.ftm_kernel, 1, 63)
        _check_int("n_ftm", self.n_ftm, 0, 8)


class FEM(nn.Module):
    """Feature-extraction module: parallel multi-kernel convs, concatenated, 1×1 fused."""

    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, ...]):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False),
                          nn.BatchNorm1d(c_out), nn.GELU()) for k in kernels)
        self.fuse = nn.Sequential(nn.Conv1d(len(kernels) * c_out, c_out, 1, bias=False),
                                  nn.BatchNorm1d(c_out), nn.GELU())

    def forward(self, x: Tensor) -> Tensor:
        return self.fuse(torch.cat([b(x) for b in self.branches], dim=1))


class FTM(nn.Module):
    """Feature-transformation module: residual depthwise-separable conv block."""

    def __init__(self, c: int, kernel_size: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(c, c, kernel_size, padding=kernel_size // 2, groups=c, bias=False),
            nn.Conv1d(c, c, 1, bias=False), nn.BatchNorm1d(c), nn.GELU())

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ChannelCorrelationGate(nn.Module):
    """Gate ``F · σ(W (R z) + b)``: ``z`` time-squeezed features, ``R`` channel correlation."""

    def __init__(self, c: int, eps: float = 1e-5):
        super().__init__()
        self.fc = nn.Linear(c, c)
        self.eps = eps

    def forward(self, f: Tensor) -> Tensor:  # (N, C, L)
        z = f.mean(dim=-1)                                        # (N, C)
        centred = f - z.unsqueeze(-1)
        std = torch.sqrt(centred.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        u = centred / std
        corr = torch.matmul(u, u.transpose(1, 2)) / f.shape[-1]  # (N, C, C), Pearson
        a = torch.matmul(corr, z.unsqueeze(-1)).squeeze(-1)      # (N, C)
        return f * torch.sigmoid(self.fc(a)).unsqueeze(-1)


class Li2021(nn.Module):
    """Lightweight PPG→ECG network of Li et al. (≈ 40 K parameters); see the module docstring."""

    config_cls = Li2021Config
    length_multiple = LENGTH_MULTIPLE

    def __init__(self, config: Li2021Config | None = None):
        super().__init__()
        self.config = cfg = config if config is not None else Li2021Config()
        c0, c1, c2 = cfg.channels
        self.stem = nn.Sequential(nn.Conv1d(1, c0, 7, padding=3, bias=False),
                                  nn.BatchNorm1d(c0), nn.GELU())
        self.fem1 = FEM(c0, c1, cfg.kernels)
        self.fem2 = FEM(c1, c2, cfg.kernels)
        self.ftm = nn.Sequential(*(FTM(c2, cfg.ftm_kernel) for _ in range(cfg.n_ftm)))
        self.gate = ChannelCorrelationGate(c2)
        self.up2 = nn.ConvTranspose1d(c2, c2, kernel_size=2, stride=2)
        self.dec2 = ConvBlock(c2, c1, kernel_size=7, n_convs=1)
        self.up1 = nn.ConvTranspose1d(c1, c1, kernel_size=2, stride=2)
        self.dec1 = ConvBlock(c1, c0, kernel_size=7, n_convs=1)
        self.head = nn.Conv1d(c0, 1, 7, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        xb, lead = signal_batch(x, multiple=self.length_multiple)
        s1 = self.fem1(self.stem(xb))                  # (N, c1, T)
        s2 = self.fem2(F.max_pool1d(s1, 2))            # (N, c2, T/2)
        h = self.gate(self.ftm(F.max_pool1d(s2, 2)))   # (N, c2, T/4)
        h = self.dec2(self.up2(h) + s2)                # (N, c1, T/2)
        h = self.dec1(self.up1(h) + s1)                # (N, c0, T)
        return signal_unbatch(self.head(h), lead)
