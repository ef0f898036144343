"""Logistic regression on scikit-learn's breast-cancer data with gpugrad.

The data ships inside scikit-learn (nothing is downloaded). Features are standardized
with the training split's statistics; the model is ``Linear(30, 1)`` followed by
``Sigmoid``, trained with ``BCELoss`` (which runs gpugrad.nn.functional's fused
``binary_cross_entropy``) and SGD on shuffled mini-batches.

    python examples/train_logistic_regression.py                  # full run, asserts accuracy
    python examples/train_logistic_regression.py --quick          # a few epochs (CI)
    python examples/train_logistic_regression.py --compare-torch  # same run in PyTorch too
    python examples/train_logistic_regression.py --device cuda --epochs 50
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from breast_cancer import load_data  # examples/breast_cancer.py

import gpugrad as gg
from gpugrad import nn
from gpugrad.optim import SGD
from gpugrad.utils.data import DataLoader, TensorDataset

ACCURACY_FLOOR = 0.95


def progress(epochs: int):
    """A tqdm bar over epochs, or plain prints when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(range(1, epochs + 1), desc="train", unit="epoch")
        return bar, lambda loss: bar.set_postfix(loss=f"{loss:.4f}")
    every = max(1, epochs // 10)
    done = 0

    def report(loss: float) -> None:
        nonlocal done
        done += 1
        if done % every == 0 or done == epochs:
            print(f"epoch {done:4d}/{epochs}  loss {loss:.4f}", flush=True)

    return range(1, epochs + 1), report


def train_gpugrad(data, args) -> tuple[nn.Module, list[float], dict]:
    x_train, _, y_train, _ = data
    gg.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(x_train.shape[1], 1), nn.Sigmoid()).to(args.device)
    initial = {k: v.cpu().numpy().copy() for k, v in model.state_dict().items()}
    loss_fn = nn.BCELoss()
    optimizer = SGD(model.parameters(), lr=args.lr)
    dataset = TensorDataset(
        gg.tensor(x_train, device=args.device),
        gg.tensor(y_train, device=args.device).reshape(-1, 1),
    )
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    losses: list[float] = []
    epochs, report = progress(args.epochs)
    for _ in epochs:
        running = 0.0
        for step, (xb, yb) in enumerate(loader, start=1):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            running += (losses[-1] - running) / step
        report(running)
    return model, losses, initial


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> float:
    model.eval()
    with gg.no_grad():
        p = model(gg.tensor(x, device=device)).reshape(-1).cpu().numpy()
    model.train()
    return float(((p >= 0.5) == (y >= 0.5)).mean())


def train_torch(data, args, initial: dict) -> tuple[list[float], dict]:
    """The same model, initial weights, batches and optimizer in PyTorch."""
    import torch

    x_train, _, y_train, _ = data
    model = torch.nn.Sequential(torch.nn.Linear(x_train.shape[1], 1), torch.nn.Sigmoid())
    model.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})
    loss_fn = torch.nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    # A loader with the same seed yields the very same batches, epoch after epoch.
    order = DataLoader(
        TensorDataset(gg.zeros(len(x_train))), batch_size=args.batch_size, shuffle=True,
        seed=args.seed,
    )  # fmt: skip
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train).reshape(-1, 1)
    losses: list[float] = []
    for _ in range(args.epochs):
        for idx in order.batch_indices():
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses, {k: v.detach().numpy() for k, v in model.state_dict().items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=None, help="default 100 (3 with --quick)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a few epochs, no accuracy floor")
    parser.add_argument(
        "--compare-torch", action="store_true", help="also train in PyTorch and compare"
    )
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 100

    start = time.perf_counter()
    data = load_data(args.seed)
    x_train, x_test, y_train, y_test = data
    print(
        f"breast cancer: {len(x_train)} train / {len(x_test)} test samples, "
        f"{x_train.shape[1]} features, device {args.device}"
    )
    model, losses, initial = train_gpugrad(data, args)
    train_acc = accuracy(model, x_train, y_train, args.device)
    test_acc = accuracy(model, x_test, y_test, args.device)
    elapsed = time.perf_counter() - start
    print(f"final loss {losses[-1]:.4f} after {len(losses)} steps ({args.epochs} epochs)")
    print(f"train accuracy {train_acc:.4f}")
    print(f"test accuracy {test_acc:.4f}")
    print(f"time {elapsed:.2f} s")

    if args.compare_torch:
        torch_losses, torch_state = train_torch(data, args, initial)
        curve = np.abs(np.array(losses) - np.array(torch_losses))
        ours = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
        weights = max(float(np.abs(ours[k] - torch_state[k]).max()) for k in ours)
        print(f"PyTorch final loss {torch_losses[-1]:.4f}")
        print(f"max |loss difference| over {len(curve)} steps: {curve.max():.3e}")
        print(f"max |final weight difference|: {weights:.3e}")

    if not args.quick and test_acc < ACCURACY_FLOOR:
        print(f"FAILED: test accuracy {test_acc:.4f} < {ACCURACY_FLOOR}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
