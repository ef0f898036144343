"""A small CNN on scikit-learn's 8x8 handwritten digits with gpugrad.

The data ships inside scikit-learn (nothing is downloaded). Each image is a 1x8x8 tensor
with pixels scaled to [0, 1]; the model is two ``Conv2d -> BatchNorm2d -> ReLU ->
MaxPool2d`` blocks, then ``Flatten -> Dropout -> Linear``, trained with
``CrossEntropyLoss`` and Adam whose learning rate follows a cosine schedule down to zero.
A tqdm bar shows the progress; ``--plot`` saves the loss and accuracy curves as a PNG
(matplotlib's Agg backend, no display needed).

    python examples/cnn_digits.py                  # full run, asserts test accuracy >= 0.97
    python examples/cnn_digits.py --quick          # two epochs on a subset (CI)
    python examples/cnn_digits.py --plot curves.png --device cuda
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import gpugrad as gg
from gpugrad import nn
from gpugrad.optim import Adam
from gpugrad.optim.lr_scheduler import CosineAnnealingLR

ACCURACY_FLOOR = 0.97


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return tuple(train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y))


def make_model(device: str) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(128, 10),
    ).to(device)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> float:
    model.eval()
    with gg.no_grad():
        predicted = model(gg.tensor(x, device=device)).argmax(dim=1).cpu().numpy()
    model.train()
    return float((predicted == y).mean())


def train(model: nn.Module, data: tuple[np.ndarray, ...], args) -> tuple[list, list]:
    from tqdm import tqdm

    x_train, x_test, y_train, y_test = data
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    # stepped once per batch: the learning rate falls along a half cosine to 0 at the end
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    shuffle = gg.Generator().manual_seed(args.seed)  # the batch order, apart from dropout's
    x_all = gg.tensor(x_train, device=args.device)
    y_all = gg.tensor(y_train, device=args.device)
    losses: list[float] = []
    test_accuracies: list[float] = []
    bar = tqdm(range(1, args.epochs + 1), desc="epochs", unit="epoch", file=sys.stdout)
    for _epoch in bar:
        order = gg.randperm(len(x_train), generator=shuffle).to(args.device)
        for start in range(0, len(x_train), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_all[batch]), y_all[batch])
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        test_accuracies.append(accuracy(model, x_test, y_test, args.device))
        recent = float(np.mean(losses[-steps_per_epoch:]))
        bar.set_postfix(loss=f"{recent:.4f}", test_acc=f"{test_accuracies[-1]:.3f}")
    bar.close()
    return losses, test_accuracies


def plot(losses: list[float], accuracies: list[float], steps_per_epoch: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps = np.arange(1, len(losses) + 1)
    left.plot(steps, losses, lw=0.8, alpha=0.6)
    left.set(xlabel="step", ylabel="cross-entropy loss", yscale="log", title="training loss")
    epochs = np.arange(1, len(accuracies) + 1)
    right.plot(epochs, accuracies, marker="o")
    right.set(xlabel="epoch", ylabel="accuracy", title="test accuracy", ylim=(0, 1))
    fig.suptitle(f"CNN on 8x8 digits ({steps_per_epoch} steps per epoch)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"curves saved to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (2 with --quick)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="two epochs on 400 images, no accuracy floor"
    )
    parser.add_argument(
        "--plot", nargs="?", const="cnn_digits_curves.png", default=None, metavar="PNG",
        help="save the loss and accuracy curves (default file: cnn_digits_curves.png)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else 20

    start = time.perf_counter()
    x_train, x_test, y_train, y_test = load_data(args.seed)
    if args.quick:
        x_train, y_train = x_train[:400], y_train[:400]
    print(f"digits: {len(x_train)} train / {len(x_test)} test images, device {args.device}")
    gg.manual_seed(args.seed)
    model = make_model(args.device)
    print(model)
    losses, accuracies = train(model, (x_train, x_test, y_train, y_test), args)
    train_acc = accuracy(model, x_train, y_train, args.device)
    test_acc = accuracies[-1]
    elapsed = time.perf_counter() - start
    print(f"train accuracy {train_acc:.4f}")
    print(f"test accuracy {test_acc:.4f}")
    print(f"time {elapsed:.2f} s ({len(losses)} steps)")
    if args.plot:
        plot(losses, accuracies, -(-len(x_train) // args.batch_size), args.plot)
    if not args.quick and test_acc < ACCURACY_FLOOR:
        print(f"FAILED: test accuracy {test_acc:.4f} < {ACCURACY_FLOOR}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
