"""A 64-128-10 MLP on scikit-learn's 8x8 handwritten digits with gpugrad.

The data ships inside scikit-learn (nothing is downloaded). Pixels are scaled to [0, 1];
the model is ``Linear(64, 128) -> ReLU -> Linear(128, 10)``, trained with
``CrossEntropyLoss`` and Adam on shuffled mini-batches. ``--plot`` saves the loss curve
as a PNG (matplotlib's Agg backend, no display needed); ``--save`` writes the trained
weights with ``gg.save`` and checks that they load back to the same accuracy.

    python examples/mlp_digits.py                   # full run, asserts test accuracy >= 0.95
    python examples/mlp_digits.py --quick           # two epochs (CI)
    python examples/mlp_digits.py --plot loss.png --save digits.npz --device cuda
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import gpugrad as gg
from gpugrad import nn
from gpugrad.optim import Adam
from gpugrad.serialization import load, save
from gpugrad.utils.data import DataLoader, TensorDataset

ACCURACY_FLOOR = 0.95


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    return tuple(train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y))


def make_model(device: str) -> nn.Module:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> float:
    model.eval()
    with gg.no_grad():
        predicted = model(gg.tensor(x, device=device)).argmax(dim=1).cpu().numpy()
    model.train()
    return float((predicted == y).mean())


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, args) -> list[float]:
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    dataset = TensorDataset(gg.tensor(x, device=args.device), gg.tensor(y, device=args.device))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    losses: list[float] = []
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            total += losses[-1]
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            print(
                f"epoch {epoch:3d}/{args.epochs}  mean loss {total / len(loader):.4f}", flush=True
            )
    return losses


def plot(losses: list[float], steps_per_epoch: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(1, len(losses) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="batch loss")
    if len(losses) >= steps_per_epoch:
        epochs = np.array(losses[: len(losses) // steps_per_epoch * steps_per_epoch])
        means = epochs.reshape(-1, steps_per_epoch).mean(axis=1)
        ax.plot(steps_per_epoch * np.arange(1, len(means) + 1), means, lw=2, label="epoch mean")
    ax.set(xlabel="step", ylabel="cross-entropy loss", yscale="log", title="MLP on 8x8 digits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"loss curve saved to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=None, help="default 30 (2 with --quick)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="two epochs, no accuracy floor")
    parser.add_argument(
        "--plot", nargs="?", const="mlp_digits_loss.png", default=None, metavar="PNG",
        help="save the loss curve (default file: mlp_digits_loss.png)",
    )  # fmt: skip
    parser.add_argument("--save", default=None, metavar="PATH", help="save the trained weights")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else 30

    start = time.perf_counter()
    x_train, x_test, y_train, y_test = load_data(args.seed)
    print(f"digits: {len(x_train)} train / {len(x_test)} test images, device {args.device}")
    gg.manual_seed(args.seed)
    model = make_model(args.device)
    print(model)
    losses = train(model, x_train, y_train, args)
    train_acc = accuracy(model, x_train, y_train, args.device)
    test_acc = accuracy(model, x_test, y_test, args.device)
    elapsed = time.perf_counter() - start
    print(f"train accuracy {train_acc:.4f}")
    print(f"test accuracy {test_acc:.4f}")
    print(f"time {elapsed:.2f} s ({len(losses)} steps)")

    if args.plot:
        plot(losses, -(-len(x_train) // args.batch_size), args.plot)
    if args.save:
        save(model.state_dict(), args.save)
        restored = make_model(args.device)
        restored.load_state_dict(load(args.save))
        reloaded_acc = accuracy(restored, x_test, y_test, args.device)
        print(f"weights saved to {args.save}; reloaded test accuracy {reloaded_acc:.4f}")
        if reloaded_acc != test_acc:
            print("FAILED: reloaded weights give a different accuracy", file=sys.stderr)
            return 1

    if not args.quick and test_acc < ACCURACY_FLOOR:
        print(f"FAILED: test accuracy {test_acc:.4f} < {ACCURACY_FLOOR}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
