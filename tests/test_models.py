"""Reconstruction models, the MoE dispatch, the landmark detector (med2ecg.models)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from med2ecg.constants import LANDMARKS, WINDOW
from med2ecg.models import (
    LENGTH_MULTIPLE,
    MODELS,
    LandmarkUNet,
    Med2ECG,
    Med2ECGConfig,
    landmark_train,
    model_build,
)
from med2ecg.models.med2ecg import SharedRoutedMoE


def _seeded(build, seed: int = 0):
    """Build under a scoped global seed (restores the caller's RNG state)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


ALL = [*MODELS, "landmark"]


def _build(name: str) -> torch.nn.Module:
    return _seeded(lambda: LandmarkUNet() if name == "landmark" else model_build(name)).eval()


# --------------------------------------------------------------------------------------------
# shapes and input validation


@pytest.mark.parametrize("name", ALL)
def test_shapes_any_leading_dims(name):
    model = _build(name)
    extra = (len(LANDMARKS),) if name == "landmark" else ()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for t in (WINDOW, 512):
            for lead in ((1,), (3,), (2, 3), ()):
                x = torch.randn(*lead, t, generator=gen)
                y = model(x)
                assert y.shape == (*lead, *extra, t)
                assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ALL)
def test_rejects_bad_lengths_and_inputs(name):
    model = _build(name)
    assert WINDOW % LENGTH_MULTIPLE == 0
    for t in (WINDOW + 2, 511, 0):
        with pytest.raises(ValueError, match=rf"T={t}\b.*multiple of {LENGTH_MULTIPLE}"):
            model(torch.zeros(2, t))
    with pytest.raises(ValueError, match="no windows"):
        model(torch.zeros(0, 512))
    with pytest.raises(ValueError, match="floating"):
        model(torch.zeros(2, 512, dtype=torch.long))


def test_batch_consistency():
    """A window's output does not depend on what else is in the batch (eval mode)."""
    for name in ALL:
        model = _build(name)
        x = torch.randn(3, 512, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            together = model(x)
            alone = torch.stack([model(x[i]) for i in range(3)])
        torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_parameter_counts():
    counts = {name: _n_params(_build(name)) for name in ALL}
    assert 300_000 <= counts["med2ecg"] <= 1_500_000
    assert counts["li2021"] < 100_000
    assert 20_000 <= counts["li2021"] <= 60_000  # the paper's "≈ 40 K"
    assert 100_000 <= counts["bilstm"] <= 500_000
    assert 200_000 <= counts["unet"] <= 600_000
    assert counts["attn-unet"] > counts["unet"]       # the gates add parameters
    assert counts["landmark"] < 100_000


def test_gradients_reach_every_parameter():
    for name in MODELS:
        model = _build(name).train()
        y = model(torch.randn(2, 256, generator=torch.Generator().manual_seed(3)))
        loss = y.square().mean()
        if name == "med2ecg":
            loss = loss + model.aux_loss
        loss.backward()
        missing = [n for n, p in model.named_parameters()
                   if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]
        if name == "med2ecg":
            # routed experts nobody picked for these 128 tokens legitimately get no gradient
            missing = [n for n in missing if not n.startswith("moe.routed.")]
        assert not missing, f"{name}: no gradient for {missing}"


# --------------------------------------------------------------------------------------------
# registry and configs


def test_registry_and_build_errors():
    assert set(MODELS) == {"med2ecg", "bilstm", "unet", "attn-unet", "li2021"}
    with pytest.raises(ValueError, match="allowed: med2ecg, bilstm, unet, attn-unet, li2021"):
        model_build("transformer")
    with pytest.raises(ValueError, match="unknown option.*'hidden_size'.*allowed:.*gru_hidden"):
        model_build("med2ecg", hidden_size=3)
    with pytest.raises(ValueError, match=r"top_k=15 must be an integer in \[1, 14\]"):
        model_build("med2ecg", n_experts=16, n_shared=2, top_k=15)
    with pytest.raises(ValueError, match="moe_dispatch='dense'.*allowed.*'sparse'"):
        model_build("med2ecg", moe_dispatch="dense")
    with pytest.raises(ValueError, match="kernel_size=6 must be odd"):
        model_build("unet", kernel_size=6)
    with pytest.raises(ValueError, match=r"channels\[1\]=0"):
        model_build("unet", channels=(8, 0, 16))
    with pytest.raises(ValueError, match=r"hidden=True must be an integer"):
        model_build("bilstm", hidden=True)


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trips(name):
    model = model_build(name)
    cfg = model.config
    as_dict = dataclasses.asdict(cfg)
    json_like = {k: list(v) if isinstance(v, tuple) else v for k, v in as_dict.items()}
    assert type(cfg)(**json_like) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.kernel_size = 3


def test_determinism_same_seed_same_init_and_output():
    x = torch.randn(2, 512, generator=torch.Generator().manual_seed(4))
    for name in ALL:
        a, b = _build(name), _build(name)
        c = _seeded(lambda n=name: LandmarkUNet() if n == "landmark" else model_build(n),
                    seed=1).eval()
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert ka == kb and torch.equal(va, vb), (name, ka)
        with torch.no_grad():
            assert torch.equal(a(x), b(x))
            assert not torch.equal(a(x), c(x))


# --------------------------------------------------------------------------------------------
# mixture of experts


def _record_calls(moe: SharedRoutedMoE):
    """Forward hooks: expert key -> list of input batches; plus the MoE's own input."""
    calls: dict[str, list[torch.Tensor]] = {}
    handles = []

    def hook(key):
        return lambda _m, inp, _out: calls.setdefault(key, []).append(inp[0].detach().clone())

    for i, e in enumerate(moe.shared):
        handles.append(e.register_forward_hook(hook(f"shared{i}")))
    for i, e in enumerate(moe.routed):
        handles.append(e.register_forward_hook(hook(f"routed{i}")))
    handles.append(moe.register_forward_hook(hook("moe")))
    return calls, handles


def _token_ids(rows: torch.Tensor, tokens: torch.Tensor) -> list[int]:
    """Which token each row is (rows are copies of distinct token vectors)."""
    match = (rows[:, None, :] == tokens[None, :, :]).all(dim=-1)   # (rows, tokens)
    assert (match.sum(dim=1) == 1).all(), "each expert input row is exactly one token"
    return match.float().argmax(dim=1).tolist()


def test_sparse_dispatch_calls_exactly_the_chosen_experts():
    model = _build("med2ecg")
    moe = model.moe
    calls, handles = _record_calls(moe)
    with torch.no_grad():
        model(torch.randn(3, 64, generator=torch.Generator().manual_seed(5)))
    for h in handles:
        h.remove()
    tokens = calls["moe"][0]
    n_tok = 3 * 64 // 4
    assert tokens.shape == (n_tok, 128)
    routing = model.last_routing
    assert routing.shape == (n_tok, 2) and routing.dtype == torch.long
    assert ((routing >= 0) & (routing < 15)).all()
    assert (routing[:, 0] != routing[:, 1]).all(), "two distinct routed experts per token"
    # the shared expert: one call on every token
    assert len(calls["shared0"]) == 1 and torch.equal(calls["shared0"][0], tokens)
    seen = {t: [] for t in range(n_tok)}
    for e in range(15):
        expected = {t for t in range(n_tok) if e in routing[t].tolist()}
        got = calls.get(f"routed{e}", [])
        if not expected:
            assert got == [], f"expert {e} was chosen by no token but was called"
            continue
        assert len(got) == 1, f"expert {e} called {len(got)} times"
        ids = _token_ids(got[0], tokens)
        assert set(ids) == expected and len(ids) == len(expected)
        for t in ids:
            seen[t].append(e)
    assert all(sorted(v) == sorted(routing[t].tolist()) for t, v in seen.items())


def test_sparse_dispatch_skips_unchosen_experts():
    """4 tokens × top-2 reach at most 8 of the 15 routed experts; the rest are never run."""
    model = _build("med2ecg")
    calls, handles = _record_calls(model.moe)
    with torch.no_grad():
        model(torch.randn(1, 16, generator=torch.Generator().manual_seed(6)))
    for h in handles:
        h.remove()
    chosen = set(model.last_routing.flatten().tolist())
    called = {int(k[6:]) for k in calls if k.startswith("routed")}
    assert called == chosen
    assert len(called) <= 8 and len(set(range(15)) - called) >= 7
    assert sum(len(calls[f"routed{e}"][0]) for e in called) == 4 * 2


def test_dense_masked_runs_every_expert_on_every_token():
    model = _build("med2ecg").with_dispatch("dense_masked")
    calls, handles = _record_calls(model.moe)
    with torch.no_grad():
        model(torch.randn(1, 16, generator=torch.Generator().manual_seed(6)))
    for h in handles:
        h.remove()
    assert all(len(calls[f"routed{e}"]) == 1 and len(calls[f"routed{e}"][0]) == 4
               for e in range(15))


@pytest.mark.parametrize("train", [False, True])
def test_sparse_and_dense_masked_agree(train):
    sparse = _build("med2ecg")
    dense = sparse.with_dispatch("dense_masked")
    assert dense.config.moe_dispatch == "dense_masked" and sparse.config.moe_dispatch == "sparse"
    sparse.train(train)
    dense.train(train)
    x = torch.randn(3, 512, generator=torch.Generator().manual_seed(7))
    ys, yd = sparse(x), dense(x)
    assert (ys - yd).abs().max() <= 1e-6
    assert torch.equal(sparse.last_routing, dense.last_routing)
    assert abs(sparse.aux_loss.item() - dense.aux_loss.item()) <= 1e-6
    # a twin can be made after a training forward (aux_loss carries a graph)
    assert sparse.with_dispatch("sparse").aux_loss is None
    assert sparse.aux_loss is not None
    # same gradients too (within float32 rounding)
    ys.square().mean().backward()
    yd.square().mean().backward()
    for (n, ps), (_, pd) in zip(sparse.named_parameters(), dense.named_parameters(),
                                        strict=True):
        if ps.grad is None:
            assert pd.grad is None or pd.grad.abs().max() == 0, n
        else:
            torch.testing.assert_close(ps.grad, pd.grad, rtol=1e-4, atol=1e-6, msg=n)


def test_aux_loss_is_the_switch_formula():
    model = _build("med2ecg")
    model.train()
    y = model(torch.randn(2, 256, generator=torch.Generator().manual_seed(8)))
    aux = model.aux_loss
    assert aux.dim() == 0 and torch.isfinite(aux) and aux.item() > 0
    assert y.shape == (2, 256)
    aux.backward()
    assert model.moe.gate.weight.grad.abs().sum() > 0   # the gate learns from it
    # recompute n · Σ f_i P_i from the gate directly
    moe = SharedRoutedMoE(8, n_experts=5, n_shared=1, top_k=2, hidden=16)
    x = torch.randn(50, 8, generator=torch.Generator().manual_seed(9))
    _, aux, idx = moe(x)
    probs = torch.softmax(moe.gate(x), dim=-1).detach().numpy()
    frac = np.bincount(idx.flatten().numpy(), minlength=4) / (50 * 2)
    assert aux.item() == pytest.approx(4 * float((frac * probs.mean(axis=0)).sum()), rel=1e-6)
    # uniform gate: P_i = 1/n and Σ f_i = 1, so the term is exactly 1
    with torch.no_grad():
        moe.gate.weight.zero_()
    _, aux, _ = moe(x)
    assert aux.item() == pytest.approx(1.0, abs=1e-6)


def test_moe_configurations():
    for k, m, top in ((4, 1, 3), (8, 0, 1), (16, 2, 2)):
        cfg = Med2ECGConfig(n_experts=k, n_shared=m, top_k=top)
        model = _seeded(lambda c=cfg: Med2ECG(c)).eval()
        with torch.no_grad():
            y = model(torch.randn(2, 64))
        assert y.shape == (2, 64)
        assert model.last_routing.shape == (2 * 16, top)
        assert len(model.moe.routed) == k - m and len(model.moe.shared) == m
        dense = model.with_dispatch("dense_masked")
        x = torch.randn(2, 64, generator=torch.Generator().manual_seed(10))
        with torch.no_grad():
            assert (model(x) - dense(x)).abs().max() <= 1e-6
    with pytest.raises(ValueError, match=r"top_k=4 must be an integer in \[1, 3\]"):
        Med2ECGConfig(n_experts=4, n_shared=1, top_k=4)


# --------------------------------------------------------------------------------------------
# landmark detector


def _synthetic_ecg(n: int, t: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """ECG-like windows (P, QRS, T Gaussian bumps) and ±5-sample boxes at the 4 landmarks."""
    ecg = np.zeros((n, t), dtype=np.float32)
    masks = np.zeros((n, len(LANDMARKS), t), dtype=np.float32)
    tt = np.arange(t)
    for i in range(n):
        r = rng.uniform(20, 40)
        while r < t - 40:
            p_on, qrs_on, qrs_off, t_off = r - 20, r - 4, r + 4, r + 30
            ecg[i] += (0.15 * np.exp(-0.5 * ((tt - (r - 14)) / 3) ** 2)
                       + 1.0 * np.exp(-0.5 * ((tt - r) / 1.5) ** 2)
                       + 0.3 * np.exp(-0.5 * ((tt - (r + 20)) / 5) ** 2))
            for j, s in enumerate((p_on, qrs_on, qrs_off, t_off)):
                masks[i, j, max(0, int(round(s)) - 5):int(round(s)) + 6] = 1
            r += rng.uniform(55, 75)
    ecg += 0.02 * rng.standard_normal(ecg.shape).astype(np.float32)
    return ecg, masks


def test_landmark_train_reduces_loss_and_freezes():
    ecg, masks = _synthetic_ecg(32, 256, np.random.default_rng(0))
    net = _seeded(LandmarkUNet)
    gen = torch.Generator().manual_seed(0)
    history = landmark_train(net, torch.from_numpy(ecg), torch.from_numpy(masks), epochs=6,
                             lr=3e-3, batch_size=4, generator=gen)
    assert len(history) == 6 and all(np.isfinite(history))
    assert history[-1] < 0.8 * history[0]
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())
    # frozen, but still differentiable in its input (what L_dal needs)
    x = torch.from_numpy(ecg[:2]).requires_grad_(True)
    net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # same generator seed, same weights
    net2 = _seeded(LandmarkUNet)
    landmark_train(net2, torch.from_numpy(ecg), torch.from_numpy(masks), epochs=6, lr=3e-3,
                   batch_size=4, generator=torch.Generator().manual_seed(0))
    for a, b in zip(net.state_dict().values(), net2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_landmark_train_validates():
    net = LandmarkUNet()
    ecg = torch.zeros(4, 64)
    with pytest.raises(ValueError, match=r"masks must have shape \(N, 4, T\)"):
        landmark_train(net, ecg, torch.zeros(4, 3, 64), epochs=1)
    with pytest.raises(ValueError, match=r"epochs=0 must be an integer in \[1, 10000\]"):
        landmark_train(net, ecg, torch.zeros(4, 4, 64), epochs=0)
    with pytest.raises(ValueError, match=r"ecg must have shape \(N, T\)"):
        landmark_train(net, ecg[0], torch.zeros(4, 64), epochs=1)
