"""A nanoGPT-style character-level transformer trained on the Python standard library.

The text is the source of a fixed list of standard-library modules, read from the running
Python's own installation (``sysconfig.get_paths()["stdlib"]``): nothing is downloaded.
The model is nanoGPT's: token and position ``Embedding``s, pre-``LayerNorm`` blocks of
causal self-attention (``F.scaled_dot_product_attention(..., is_causal=True)``) and a GELU
MLP, a final ``LayerNorm`` and a linear head. It trains with ``AdamW`` (weight decay on
the matrices only), ``clip_grad_norm_``, and a linear warm-up followed by a cosine decay
(``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``), then prints a generated
sample. A bigram model (character-pair counts, add-alpha smoothing) fitted on the same
training text is the baseline: the full run asserts that the transformer's validation
loss beats it.

Every ``--eval-every`` steps (and at the end) a checkpoint is written with ``gg.save``:
the model, the optimizer, the scheduler and both random generators. ``--resume``
continues from it with the same losses, step for step, as an uninterrupted run
(``--stop-after`` interrupts a run on purpose, to try it).

    python examples/char_gpt.py                    # full run (a few minutes on a CPU)
    python examples/char_gpt.py --quick            # a few seconds (CI)
    python examples/char_gpt.py --stop-after 300   # stop early, then
    python examples/char_gpt.py --resume           # ... continue where it stopped
    python examples/char_gpt.py --device cuda
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import sysconfig
import time

import numpy as np

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.optim import AdamW
from gpugrad.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

MODULES = (
    "argparse.py",
    "textwrap.py",
    "difflib.py",
    "dataclasses.py",
    "enum.py",
    "functools.py",
    "inspect.py",
    "typing.py",
    "pathlib.py",
    "tokenize.py",
    "shutil.py",
    "subprocess.py",
    "threading.py",
    "tarfile.py",
    "zipfile.py",
    "pickle.py",
)
"""The corpus: these standard-library modules' sources, concatenated (those present)."""

FULL = {"steps": 600, "layers": 2, "heads": 4, "width": 64, "block": 64, "batch": 32}
QUICK = {"steps": 40, "layers": 1, "heads": 2, "width": 32, "block": 32, "batch": 8}


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


# --- data -----------------------------------------------------------------------------------
def load_text(limit: int | None) -> str:
    root = sysconfig.get_paths()["stdlib"]
    parts = []
    for name in MODULES:
        path = os.path.join(root, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                parts.append(f.read())
    if not parts:
        raise SystemExit(f"no standard-library sources found under {root}")
    text = "\n".join(parts)
    return text[:limit] if limit else text


class CharCodec:
    """Characters <-> integer codes (the sorted set of characters of the corpus)."""

    def __init__(self, chars: list[str]) -> None:
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, codes: list[int]) -> str:
        return "".join(self.chars[i] for i in codes)


def bigram_baseline(train: np.ndarray, val: np.ndarray, vocab: int) -> float:
    """The validation cross entropy (nats per character) of the best add-alpha smoothed
    bigram model fitted on ``train`` (alpha chosen on the validation text itself, which
    only flatters the baseline)."""
    counts = np.zeros((vocab, vocab))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    best = math.inf
    for alpha in (1.0, 0.3, 0.1, 0.03, 0.01):
        smoothed = counts + alpha
        log_p = np.log(smoothed / smoothed.sum(1, keepdims=True))
        best = min(best, float(-log_p[val[:-1], val[1:]].mean()))
    return best


# --- model ----------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.proj(y))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width),
            nn.GELU(),
            nn.Linear(4 * width, width),
            nn.Dropout(dropout),
        )

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, block: int, layers: int, heads: int, width: int, dropout):
        super().__init__()
        self.block = block
        self.tok_emb = nn.Embedding(vocab, width)
        self.pos_emb = nn.Embedding(block, width)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, idx: gg.Tensor, targets: gg.Tensor | None = None):
        t = idx.shape[1]
        positions = gg.arange(t, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(positions))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    @gg.no_grad()
    def generate(self, idx: gg.Tensor, new_tokens: int, generator: gg.Generator, temperature=0.8):
        """Append ``new_tokens`` characters, each sampled from the softmax of the last
        position's logits divided by ``temperature``."""
        for _ in range(new_tokens):
            logits, _ = self(idx[:, -self.block :])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1).cpu()
            nxt = gg.multinomial(probs, 1, generator=generator).to(idx.device)
            idx = gg.cat([idx, nxt], dim=1)
        return idx


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> AdamW:
    """AdamW with weight decay on the matrices (linear and embedding weights) only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return AdamW(groups, lr=lr, betas=(0.9, 0.99))


def make_scheduler(optimizer: AdamW, steps: int, warmup: int) -> SequentialLR:
    """Linear warm-up over ``warmup`` steps, then a cosine decay to a tenth of the peak."""
    base = optimizer.param_groups[0]["lr"]
    return SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=1.0 / warmup, total_iters=warmup),
            CosineAnnealingLR(optimizer, T_max=max(1, steps - warmup), eta_min=base / 10),
        ],
        milestones=[warmup],
    )


# --- training -------------------------------------------------------------------------------
def batch(data: gg.Tensor, block: int, size: int, generator: gg.Generator, device: str):
    starts = gg.randint(0, data.shape[0] - block - 1, (size,), generator=generator)
    offsets = starts.unsqueeze(1) + gg.arange(block + 1).unsqueeze(0)
    chunk = data[offsets].to(device)
    return chunk[:, :-1], chunk[:, 1:]


@gg.no_grad()
def estimate_loss(model: GPT, splits: dict, args, seed: int) -> dict:
    """Mean loss over ``args.eval_batches`` batches of each split, drawn from their own
    generator (so evaluating never moves the training batches' random stream)."""
    model.eval()
    result = {}
    for name, data in splits.items():
        generator = gg.Generator().manual_seed(seed)
        losses = [
            model(*batch(data, args.block, args.batch, generator, args.device))[1].item()
            for _ in range(args.eval_batches)
        ]
        result[name] = float(np.mean(losses))
    model.train()
    return result


def save_checkpoint(path, model, optimizer, scheduler, step, batches, config, chars) -> None:
    gg.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "batch_rng": batches.get_state(),
            "dropout_rng": dropout_rng_state(next(model.parameters()).device),
            "config": config,
            "chars": chars,
        },
        path,
    )


def dropout_rng_state(device):
    """The state of the generator dropout draws from: the default generator of the device
    the model is on (on a GPU, the CUDA device's, not ``gg.default_generator``)."""
    if device.type == "cuda":
        return gg.cuda.get_rng_state(device.index or 0)
    return gg.default_generator.get_state()


def restore_dropout_rng(device, state) -> None:
    if device.type == "cuda":
        gg.cuda.set_rng_state(state, device.index or 0)
    else:
        gg.default_generator.set_state(state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few seconds")
    parser.add_argument(
        "--steps", type=positive, default=None, help="training steps (schedule length)"
    )
    parser.add_argument(
        "--stop-after", type=positive, default=None, help="stop (and save) at this step"
    )
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--checkpoint", default="char_gpt.ckpt")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping")
    parser.add_argument("--eval-every", type=positive, default=None)
    parser.add_argument("--eval-batches", type=positive, default=None)
    parser.add_argument("--log-every", type=positive, default=None)
    parser.add_argument("--sample", type=int, default=None, help="characters to generate")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    checkpoint = None
    if args.resume:
        checkpoint = gg.load(args.checkpoint)
        config = checkpoint["config"]  # the interrupted run's settings, schedule included
    else:
        config = dict(QUICK if args.quick else FULL)
        if args.steps is not None:
            config["steps"] = args.steps
        config.update(
            quick=args.quick, lr=args.lr, weight_decay=args.weight_decay, dropout=args.dropout
        )
    for key in ("block", "batch"):
        setattr(args, key, config[key])
    quick, steps = config["quick"], config["steps"]
    args.eval_every = args.eval_every or (20 if quick else 100)
    args.eval_batches = args.eval_batches or (4 if quick else 20)
    args.log_every = args.log_every or (1 if quick else 50)
    args.sample = args.sample if args.sample is not None else (80 if quick else 400)

    text = load_text(60_000 if quick else None)
    chars = checkpoint["chars"] if checkpoint else sorted(set(text))
    codec = CharCodec(chars)
    codes = codec.encode(text)
    split = int(0.9 * len(codes))
    train_codes, val_codes = codes[:split], codes[split:]
    baseline = bigram_baseline(train_codes, val_codes, len(chars))
    print(
        f"corpus: {len(MODULES)} standard-library modules, {len(codes):,} characters, "
        f"vocabulary {len(chars)}; bigram baseline val loss {baseline:.4f}"
    )
    splits = {"train": gg.tensor(train_codes), "val": gg.tensor(val_codes)}

    gg.manual_seed(args.seed)  # initialization (and dropout)
    model = GPT(
        len(chars), config["block"], config["layers"], config["heads"], config["width"],
        config["dropout"],
    ).to(args.device)  # fmt: skip
    optimizer = make_optimizer(model, config["lr"], config["weight_decay"])
    scheduler = make_scheduler(optimizer, steps, warmup=max(1, steps // 20))
    batches = gg.Generator().manual_seed(args.seed + 1)
    step = 0
    if checkpoint:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        batches.set_state(checkpoint["batch_rng"])
        restore_dropout_rng(next(model.parameters()).device, checkpoint["dropout_rng"])
        step = checkpoint["step"]
        print(f"resumed from {args.checkpoint} at step {step}")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {config['layers']} layers, width {config['width']}, {n_params:,} parameters")

    stop = min(steps, args.stop_after) if args.stop_after else steps
    losses = {}
    while step < stop:
        x, y = batch(splits["train"], args.block, args.batch, batches, args.device)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        scheduler.step()
        step += 1
        if step % args.log_every == 0 or step == stop:
            print(f"step {step} loss {loss.item():.6f} lr {scheduler.get_last_lr()[0]:.6f}")
        if step % args.eval_every == 0 or step == stop:
            losses = estimate_loss(model, splits, args, seed=args.seed + 2)
            print(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
            save_checkpoint(
                args.checkpoint, model, optimizer, scheduler, step, batches, config, chars
            )
    if not losses:
        losses = estimate_loss(model, splits, args, seed=args.seed + 2)
    if step < steps:
        print(f"stopped at step {step} of {steps}; continue with --resume")
        return 0

    prompt = gg.tensor([codec.encode("def ")], device=args.device)
    sampled = model.generate(prompt, args.sample, gg.Generator().manual_seed(args.seed))
    print("--- sample ---")
    print(codec.decode(sampled[0].tolist()))
    print("---")
    elapsed = time.perf_counter() - start
    print(
        f"final: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}, "
        f"bigram baseline {baseline:.4f}, time {elapsed:.1f} s"
    )
    if not quick and losses["val"] >= baseline:
        print(f"FAILED: val loss {losses['val']:.4f} >= bigram {baseline:.4f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
