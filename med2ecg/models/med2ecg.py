"""Med2ECG: multi-scale conv encoder, Bi-GRU bottleneck, shared + routed experts, conv decoder.

Paper §3–§4.3 (DESIGN §5). One BCG window ``(..., T)`` in, one ECG window ``(..., T)`` out.

Architecture (defaults)::

    (N, 1, T) ─ conv k7 ×2 (32) ──────────────────────────────── skip e0 ─┐
              └ maxpool 2 ─ conv k7 ×2 (64) ─────────────────── skip e1 ─┐ │
                          └ maxpool 2 ─ conv k7 (128)                    │ │
                                        └ Bi-GRU 2×64 → tokens (N·T/4, 128)│ │
                                          └ x + MoE(LayerNorm(x))        │ │
                                            (1 shared expert always on,  │ │
                                             top-2 of 15 routed experts) │ │
                          ConvTranspose ×2 ─ cat ─ conv k7 (64) ◄────────┘ │
              ConvTranspose ×2 ─ cat ─ conv k7 (32) ◄──────────────────────┘
              conv k7 → 1 channel (the light head)

The mixture of experts follows DeepSeekMoE's shared/routed split: the shared expert sees every
token (the population-level mapping), a softmax gate picks ``top_k`` of the routed experts per
token (the "personalised" part), and their outputs are mixed with the gate probabilities
renormalised over the chosen experts (GShard). Each expert is a ``d → 2d → d`` MLP on the
``d = 128`` Bi-GRU tokens, so the 16 experts hold ≈ 1.05 M of the model's ≈ 1.33 M parameters,
while a token only passes through 3 of them (≈ 0.48 M parameters active per token). A
Switch/GShard load-balancing term ``n_routed · Σ_i f_i · P_i`` (``f_i`` the fraction of
token-slots dispatched to expert ``i``, ``P_i`` the mean gate probability of expert ``i``; 1.0 for
perfectly uniform routing) is left in ``model.aux_loss`` after each forward; the trainer adds it
with a small weight.

Dispatch modes (``Med2ECGConfig.moe_dispatch``):

``"sparse"`` (default, training and eager inference)
    token-slots are sorted by expert; each routed expert runs once on the tokens it was given
    (``index_select``), weighted outputs are ``index_add``-ed back. Experts nobody chose are not
    called. The token counts are data dependent, so this path does not trace to ONNX.
``"dense_masked"`` (ONNX export)
    every routed expert runs on every token; outputs are multiplied by a dense gate matrix that
    is zero outside the top-k. Same maths, same parameters (``state_dict`` is identical), static
    shapes. ``model.with_dispatch("dense_masked")`` returns the export twin.

Both modes accumulate the same terms in the same (expert-index) order and add exact zeros for
the experts not chosen, so they agree to float32 matmul rounding (≈1e-7).

Input length: every model in this package needs ``T`` to be a multiple of
``LENGTH_MULTIPLE`` (4 = the ×4 downsampling of the encoder; ``WINDOW`` = 2500 = 4·625 is one).
Models with deeper pyramids pad internally and crop the output back; nothing is dropped.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "LENGTH_MULTIPLE",
    "DISPATCH_MODES",
    "Med2ECGConfig",
    "Med2ECG",
    "SharedRoutedMoE",
    "Expert",
    "signal_batch",
    "signal_unbatch",
]

LENGTH_MULTIPLE = 4  #: every model accepts any T that is a positive multiple of this
DISPATCH_MODES = ("sparse", "dense_masked")


# ---------------------------------------------------------------------------------------------
# shared helpers (baselines.py and landmark.py import these)


def signal_batch(x: Tensor, *, multiple: int = LENGTH_MULTIPLE) -> tuple[Tensor, tuple[int, ...]]:
    """Flatten ``(..., T)`` to ``(N, 1, T)``; return it with the leading shape.

    Raises ``ValueError`` when ``T`` is not a positive multiple of ``multiple``, when there are
    no windows, or when ``x`` is not a floating tensor.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"expected a floating-point torch.Tensor of shape (..., T), got "
                         f"{type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, Tensor)
                                                  else ""))
    if x.dim() < 1:
        raise ValueError("expected a tensor of shape (..., T), got a 0-d tensor")
    t = x.shape[-1]
    if t <= 0 or t % multiple != 0:
        nearest = max(multiple, t - t % multiple)
        raise ValueError(f"window length T={t} must be a positive multiple of {multiple} "
                         f"(the model's downsampling factor), e.g. {nearest}")
    lead = tuple(x.shape[:-1])
    n = math.prod(lead)
    if n == 0:
        raise ValueError(f"no windows: input shape {tuple(x.shape)} has an empty batch dimension")
    return x.reshape(n, 1, t), lead


def signal_unbatch(y: Tensor, lead: tuple[int, ...]) -> Tensor:
    """Inverse of :func:`signal_batch`: ``(N, C, T)`` → ``(..., T)`` (C = 1) or ``(..., C, T)``."""
    if y.shape[1] == 1:
        return y.reshape(*lead, y.shape[-1])
    return y.reshape(*lead, y.shape[1], y.shape[-1])


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Zero-pad the time axis on the right up to a multiple of ``multiple`` (crop afterwards)."""
    extra = (-x.shape[-1]) % multiple
    return F.pad(x, (0, extra)) if extra else x


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name}={value!r} must be an integer in [{lo}, {hi}]")


def _check_odd_kernel(name: str, value: Any, lo: int = 1, hi: int = 63) -> None:
    _check_int(name, value, lo, hi)
    if value % 2 == 0:
        raise ValueError(f"{name}={value} must be odd (same-length convolution), in [{lo}, {hi}]")


def _check_channels(name: str, value: Any, n_min: int, n_max: int, lo: int = 1,
                    hi: int = 1024) -> tuple[int, ...]:
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {n_min}..{n_max} integers in "
                         f"[{lo}, {hi}], got {value!r}") from None
    if not n_min <= len(value) <= n_max:
        raise ValueError(f"{name} must have {n_min}..{n_max} entries, got {len(value)}")
    for i, c in enumerate(value):
        _check_int(f"{name}[{i}]", c, lo, hi)
    return value


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r}; allowed: {', '.join(map(repr, allowed))}")


class ConvBlock(nn.Sequential):
    """``n_convs`` × (Conv1d k, same padding → BatchNorm1d → GELU)."""

    def __init__(self, c_in: int, c_out: int, *, kernel_size: int = 7, n_convs: int = 2):
        layers: list[nn.Module] = []
        for i in range(n_convs):
            layers += [nn.Conv1d(c_in if i == 0 else c_out, c_out, kernel_size,
                                 padding=kernel_size // 2, bias=False),
                       nn.BatchNorm1d(c_out), nn.GELU()]
        super().__init__(*layers)


# ---------------------------------------------------------------------------------------------
# mixture of experts


class Expert(nn.Module):
    """Token-wise MLP ``d → hidden → d`` (GELU)."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x: Tensor) -> Tensor:  # (S, d) -> (S, d)
        return self.fc2(F.gelu(self.fc1(x)))


class SharedRoutedMoE(nn.Module):
    """Shared + top-k routed experts on tokens ``(S, d)``.

    ``forward`` returns ``(y, aux, idx)``: output ``(S, d)``, the load-balancing term (scalar)
    and the routed expert indices ``(S, top_k)`` (0-based among the routed experts).
    """

    def __init__(self, d: int, *, n_experts: int = 16, n_shared: int = 1, top_k: int = 2,
                 hidden: int = 256, dispatch: str = "sparse"):
        super().__init__()
        _check_choice("moe_dispatch", dispatch, DISPATCH_MODES)
        self.n_routed = n_experts - n_shared
        self.top_k = top_k
        self.dispatch = dispatch
        self.shared = nn.ModuleList(Expert(d, hidden) for _ in range(n_shared))
        self.routed = nn.ModuleList(Expert(d, hidden) for _ in range(self.n_routed))
        self.gate = nn.Linear(d, self.n_routed, bias=False)

    def route(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Gate probabilities ``(S, n)``, top-k weights and indices ``(S, k)``, aux loss."""
        probs = torch.softmax(self.gate(x), dim=-1)
        w, idx = torch.topk(probs, self.top_k, dim=-1)
        w = w / w.sum(dim=-1, keepdim=True)
        chosen = torch.zeros_like(probs).scatter(1, idx, 1.0)  # (S, n), k ones per row
        frac = chosen.mean(dim=0) / self.top_k                  # f_i, sums to 1 (no gradient)
        aux = self.n_routed * (frac * probs.mean(dim=0)).sum()  # P_i carries the gradient
        return probs, w, idx, aux

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        _, w, idx, aux = self.route(x)
        y = torch.zeros_like(x)
        for expert in self.shared:
            y = y + expert(x)
        if self.dispatch == "sparse":
            y = self._sparse(x, y, w, idx)
        else:
            y = self._dense_masked(x, y, w, idx)
        return y, aux, idx

    def _sparse(self, x: Tensor, y: Tensor, w: Tensor, idx: Tensor) -> Tensor:
        if torch.compiler.is_exporting():
            raise RuntimeError("sparse MoE dispatch has data-dependent shapes and does not "
                               "export; export model.with_dispatch('dense_masked') instead")
        # group the S·k token-slots by expert with one stable sort, then one host sync for counts
        flat = idx.reshape(-1)
        order = torch.argsort(flat, stable=True)
        tokens = torch.div(order, self.top_k, rounding_mode="floor")
        weights = w.reshape(-1).index_select(0, order).unsqueeze(-1)
        counts = torch.bincount(flat, minlength=self.n_routed).tolist()
        start = 0
        for e, c in enumerate(counts):
            if c == 0:
                continue  # not chosen by any token: never called
            rows = tokens[start:start + c]
            out = self.routed[e](x.index_select(0, rows)) * weights[start:start + c]
            y = y.index_add(0, rows, out)
            start += c
        return y

    def _dense_masked(self, x: Tensor, y: Tensor, w: Tensor, idx: Tensor) -> Tensor:
        dense_w = torch.zeros(x.shape[0], self.n_routed, dtype=w.dtype,
                              device=w.device).scatter(1, idx, w)  # zero outside top-k
        for e, expert in enumerate(self.routed):
            y = y + expert(x) * dense_w[:, e:e + 1]
        return y


# ---------------------------------------------------------------------------------------------
# the model


@dataclass(frozen=True)
class Med2ECGConfig:
    """Med2ECG hyper-parameters (validated; round-trips through ``dataclasses.asdict``).

    channels: encoder widths per scale; ``len(channels) - 1`` max-pool ×2 stages, so the
        default (32, 64, 128) downsamples ×4 (T/4 bottleneck tokens).
    kernel_size: encoder/decoder/head convolution kernel (paper: 7).
    gru_hidden: Bi-GRU hidden size per direction; token width ``d = 2·gru_hidden``.
    n_experts: K, experts in total (shared + routed); n_shared: M, always on; top_k: routed
        experts per token (``top_k ≤ K − M``); expert_expansion: expert MLP ``d → e·d → d``.
    moe_dispatch: "sparse" (train/eager) or "dense_masked" (ONNX export); same outputs.
    """

    channels: tuple[int, ...] = (32, 64, 128)
    kernel_size: int = 7
    gru_hidden: int = 64
    n_experts: int = 16
    n_shared: int = 1
    top_k: int = 2
    expert_expansion: int = 2
    moe_dispatch: str = "sparse"

    def __post_init__(self) -> None:
        # len(channels) − 1 pooling stages must equal log2(LENGTH_MULTIPLE)
        n_pool = int(math.log2(LENGTH_MULTIPLE))
        ch = _check_channels("channels", self.channels, n_pool + 1, n_pool + 1, 4, 512)
        object.__setattr__(self, "channels", ch)
        _check_odd_kernel("kernel_size", self.kernel_size, 1, 31)
        _check_int("gru_hidden", self.gru_hidden, 4, 512)
        _check_int("n_experts", self.n_experts, 2, 256)
        _check_int("n_shared", self.n_shared, 0, self.n_experts - 1)
        _check_int("top_k", self.top_k, 1, self.n_experts - self.n_shared)
        _check_int("expert_expansion", self.expert_expansion, 1, 8)
        _check_choice("moe_dispatch", self.moe_dispatch, DISPATCH_MODES)


class Med2ECG(nn.Module):
    """BCG ``(..., T)`` → ECG ``(..., T)``; see the module docstring for the layout.

    After each forward: ``aux_loss`` (scalar tensor, load balancing) and ``last_routing``
    (``(tokens, top_k)`` long tensor of routed expert indices, tokens = N·T/4 in batch-major
    order, detached).

    Examples
    --------
    >>> import torch
    >>> model = Med2ECG().eval()
    >>> model(torch.zeros(2, 512)).shape
    torch.Size([2, 512])
    """

    config_cls = Med2ECGConfig
    length_multiple = LENGTH_MULTIPLE

    def __init__(self, config: Med2ECGConfig | None = None):
        super().__init__()
        self.config = cfg = config if config is not None else Med2ECGConfig()
        k = cfg.kernel_size
        ch = cfg.channels
        # two convs per scale, one at the deepest (the Bi-GRU follows it)
        self.encoder = nn.ModuleList(
            ConvBlock(1 if i == 0 else ch[i - 1], c, kernel_size=k,
                      n_convs=1 if i == len(ch) - 1 else 2) for i, c in enumerate(ch))
        d = 2 * cfg.gru_hidden
        self.gru = nn.GRU(ch[-1], cfg.gru_hidden, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(d)
        self.moe = SharedRoutedMoE(d, n_experts=cfg.n_experts, n_shared=cfg.n_shared,
                                   top_k=cfg.top_k, hidden=cfg.expert_expansion * d,
                                   dispatch=cfg.moe_dispatch)
        ups, decs = [], []
        c_prev = d
        for c in reversed(ch[:-1]):
            ups.append(nn.ConvTranspose1d(c_prev, c, kernel_size=2, stride=2))
            decs.append(ConvBlock(2 * c, c, kernel_size=k, n_convs=1))
            c_prev = c
        self.ups = nn.ModuleList(ups)
        self.decoder = nn.ModuleList(decs)
        self.head = nn.Conv1d(ch[0], 1, k, padding=k // 2)
        self.aux_loss: Tensor | None = None
        self.last_routing: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        xb, lead = signal_batch(x, multiple=self.length_multiple)
        skips = []
        h = xb
        for i, block in enumerate(self.encoder):
            if i > 0:
                skips.append(h)
                h = F.max_pool1d(h, 2)
            h = block(h)
        n, _, length = h.shape
        tokens, _ = self.gru(h.transpose(1, 2))           # (N, L, d)
        d = tokens.shape[-1]
        flat = tokens.reshape(n * length, d)               # contiguous token matrix
        mixed, aux, idx = self.moe(self.norm(flat))
        flat = flat + mixed
        if not torch.compiler.is_exporting():  # module state is not part of an exported graph
            self.aux_loss = aux
            self.last_routing = idx.detach()
        h = flat.reshape(n, length, d).transpose(1, 2)
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips), strict=True):
            h = block(torch.cat([up(h), skip], dim=1))
        return signal_unbatch(self.head(h), lead)

    def with_dispatch(self, mode: str) -> Med2ECG:
        """A copy with the same weights and ``moe_dispatch=mode`` (use "dense_masked" for ONNX)."""
        _check_choice("moe_dispatch", mode, DISPATCH_MODES)
        state = self.aux_loss, self.last_routing
        self.aux_loss = self.last_routing = None  # a graph-carrying aux_loss cannot be deep-copied
        try:
            twin = copy.deepcopy(self)
        finally:
            self.aux_loss, self.last_routing = state
        twin.config = dataclasses.replace(self.config, moe_dispatch=mode)
        twin.moe.dispatch = mode
        return twin
