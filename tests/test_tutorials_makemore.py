"""Andrej Karpathy's makemore (parts 1-3) replayed with gpugrad in place of torch: the
bigram counts in an int32 tensor, sampling with ``torch.multinomial`` and a seeded
``Generator``, the one-hot neural bigram trained with ``W.grad = None`` and
``W.data += -50 * W.grad``, the MLP over an embedding table (``C[X]``, ``emb.view(-1, 6)``,
``F.cross_entropy``, a learning-rate sweep from ``torch.linspace``) and part 3's batch norm
by hand with running statistics under ``torch.no_grad()``. The weights come from one seeded
NumPy stream, so both libraries print the same losses; sampling is checked for its shape
and range (the two libraries' random streams differ)."""

from __future__ import annotations

import string

import numpy as np
import pytest

from tests.tutorial_replay import assert_same_output, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

WORDS = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper",
    "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila",
    "aria", "scarlett", "victoria", "madison", "luna", "grace", "chloe", "penelope", "layla",
    "riley", "zoey", "nora", "lily", "eleanor", "hannah", "lillian", "addison", "aubrey",
]  # fmt: skip
chars = list(string.ascii_lowercase)
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}


def bigram_program(torch, device):
    F = torch.nn.functional
    N = torch.zeros((27, 27), dtype=torch.int32, device=device)
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            N[ix1, ix2] += 1
    print(N[0], N.dtype)
    p = N[0].float()
    p = p / p.sum()
    print(p)
    g = torch.Generator().manual_seed(2147483647)
    p_cpu = p.cpu()
    ix = torch.multinomial(p_cpu, num_samples=1, replacement=True, generator=g).item()
    print(type(ix).__name__, 0 <= ix < 27, p_cpu[ix].item() > 0)
    samples = torch.multinomial(p_cpu, num_samples=20, replacement=True, generator=g)
    print(samples.shape, samples.dtype, bool((p_cpu[samples] > 0).all()))
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    print(P.shape, P.sum(1))
    log_likelihood = 0.0
    n = 0
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            prob = P[stoi[ch1], stoi[ch2]]
            logprob = torch.log(prob)
            log_likelihood += logprob
            n += 1
    print(f"{log_likelihood=}")
    nll = -log_likelihood
    print(f"{nll=}")
    print(f"{nll / n}")
    for _ in range(3):
        out = []
        ix = 0
        while True:
            p = P[ix].cpu()
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0:
                break
        print(out[-1], all(c in stoi for c in out))

    xs, ys = [], []
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs, device=device)
    ys = torch.tensor(ys, device=device)
    num = xs.nelement()
    print("number of examples: ", num)
    xenc = F.one_hot(xs, num_classes=27).float()
    print(xenc.shape, xenc.dtype)
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    print(W.shape, W.requires_grad, W.is_leaf)
    W = torch.tensor(np.random.default_rng(0).standard_normal((27, 27)).astype(np.float32))
    W = W.to(device).requires_grad_()
    for k in range(10):
        xenc = F.one_hot(xs, num_classes=27).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num, device=device), ys].log().mean() + 0.01 * (W**2).mean()
        print(k, loss.item())
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
    print(probs.shape, probs[0].sum())


def test_bigram(device, capsys):
    assert_same_output(*replay(bigram_program, device, capsys))


def _dataset(torch, device, block_size=3):
    X, Y = [], []
    for w in WORDS:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X, device=device)
    Y = torch.tensor(Y, device=device)
    print(X.shape, Y.shape, X.dtype, Y.dtype)
    return X, Y


def mlp_program(torch, device):
    F = torch.nn.functional
    X, Y = _dataset(torch, device)
    rng = np.random.default_rng(1)

    def randn(*shape):
        return torch.tensor(rng.standard_normal(shape).astype(np.float32), device=device)

    C = randn(27, 2)
    W1 = randn(6, 100)
    b1 = randn(100)
    W2 = randn(100, 27)
    b2 = randn(27)
    parameters = [C, W1, b1, W2, b2]
    print(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True
    emb = C[X]
    print(emb.shape)
    print(torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1).shape)
    print(torch.cat(torch.unbind(emb, 1), 1).shape)
    a = torch.arange(18)
    print(a.view(3, 3, 2).shape, a.view(9, 2)[4])
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    h2 = torch.nn.functional.tanh(emb.view(emb.shape[0], 6) @ W1 + b1)
    print(h.shape, torch.allclose(h, h2))
    logits = h @ W2 + b2
    counts = logits.exp()
    prob = counts / counts.sum(1, keepdims=True)
    print(prob.shape)
    loss = -prob[torch.arange(32, device=device), Y[:32]].log().mean()
    print(loss)
    print(F.cross_entropy(logits[:32], Y[:32]))
    lre = torch.linspace(-3, 0, 1000)
    lrs = 10**lre
    print(lre[:3], lrs[:3], lre.shape)
    lri = []
    lossi = []
    for i in range(30):
        ix = torch.arange(i, i + 32, device=device) % X.shape[0]
        emb = C[X[ix]]
        h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lrs[i * 30].item()
        for p in parameters:
            p.data += -lr * p.grad
        lri.append(lre[i * 30].item())
        lossi.append(loss.item())
    print(lossi[::5], loss.item())
    print(torch.tensor(lri).exp()[:3])
    ix = torch.randint(0, X.shape[0], (32,))
    print(ix.shape, ix.dtype, bool((ix >= 0).all()), bool((ix < X.shape[0]).all()))
    g = torch.Generator().manual_seed(2147483647)
    ix = torch.randint(0, X.shape[0], (32,), generator=g)
    print(ix.shape, bool((ix < X.shape[0]).all()))
    emb = C[X]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    print(F.cross_entropy(logits, Y).item())


def test_mlp(device, capsys):
    assert_same_output(*replay(mlp_program, device, capsys))


def batchnorm_program(torch, device):
    F = torch.nn.functional
    X, Y = _dataset(torch, device)
    rng = np.random.default_rng(2)

    def randn(*shape):
        return torch.tensor(rng.standard_normal(shape).astype(np.float32), device=device)

    n_embd = 10
    n_hidden = 200
    block_size = 3
    vocab_size = 27
    C = randn(vocab_size, n_embd)
    W1 = randn(n_embd * block_size, n_hidden) * (5 / 3) / ((n_embd * block_size) ** 0.5)
    W2 = randn(n_hidden, vocab_size) * 0.01
    b2 = randn(vocab_size) * 0
    bngain = torch.ones((1, n_hidden), device=device)
    bnbias = torch.zeros((1, n_hidden), device=device)
    bnmean_running = torch.zeros((1, n_hidden), device=device)
    bnstd_running = torch.ones((1, n_hidden), device=device)
    parameters = [C, W1, W2, b2, bngain, bnbias]
    print(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True
    max_steps = 40
    batch_size = 32
    lossi = []
    for i in range(max_steps):
        ix = torch.arange(i, i + batch_size, device=device) % X.shape[0]
        Xb, Yb = X[ix], Y[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1
        bnmeani = hpreact.mean(0, keepdim=True)
        bnstdi = hpreact.std(0, keepdim=True)
        hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
        with torch.no_grad():
            bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
            bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 100000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        if i % 10 == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
        lossi.append(loss.log10().item())
    print(bnmean_running.requires_grad, bnmean_running[0, :4], bnstd_running[0, :4])
    print((h.abs() > 0.99).float().mean(), h.grad_fn)

    @torch.no_grad()
    def split_loss(split):
        x, y = {"train": (X, Y)}[split]
        emb = C[x]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1
        hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, y)
        print(split, loss.item())

    split_loss("train")
    with torch.no_grad():
        emb = C[X]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1
        bnmean = hpreact.mean(0, keepdim=True)
        bnstd = hpreact.std(0, keepdim=True)
    print(bnmean[0, :4], bnstd[0, :4], sum(lossi) / len(lossi))


def test_batchnorm_by_hand(device, capsys):
    assert_same_output(*replay(batchnorm_program, device, capsys))
