"""Train in PyTorch, continue in gpugrad: a checkpoint moves between the two.

A small MLP (``Linear(8, 16) -> Tanh -> Linear(16, 1)``, ``BCEWithLogitsLoss``, Adam) is
trained in PyTorch for a few steps on synthetic data, then saved twice:

- ``checkpoint.pt``: ``torch.save({"model": ..., "optimizer": ...})``, PyTorch's zip
  format, which ``gg.load`` reads without PyTorch (an allowlist unpickler);
- ``model.safetensors``: the weights alone, through ``safetensors.torch`` (if installed).

gpugrad then builds the same-named modules, loads each checkpoint and continues training.
PyTorch continues too, from the same state, and the two loss curves are printed side by
side; the script asserts they agree (float32, to 1e-5).

    python examples/torch_to_gpugrad.py            # 30 + 30 steps
    python examples/torch_to_gpugrad.py --quick    # 5 + 5 steps (CI)
    python examples/torch_to_gpugrad.py --device cuda

Without PyTorch it says so and exits cleanly (status 0): there is nothing to convert.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

import gpugrad as gg

TOLERANCE = 1e-5


def make_data(seed: int = 0, n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy interleaved classes in 8 dimensions (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + 0.3 * rng.standard_normal(n)) > 0
    return x, y.astype(np.float32)


def torch_model(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))


def gpugrad_model():
    nn = gg.nn
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))


def train(lib, model, optimizer, x, y, steps: int) -> list[float]:
    """Full-batch steps, written once for both libraries (their APIs are the same)."""
    loss_fn = lib.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x).squeeze(1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def compare(title: str, theirs: list[float], ours: list[float]) -> float:
    print(f"\n{title}")
    print(f"{'step':>4}  {'PyTorch':>12}  {'gpugrad':>12}  {'|diff|':>9}")
    for step, (a, b) in enumerate(zip(theirs, ours), start=1):
        print(f"{step:4d}  {a:12.8f}  {b:12.8f}  {abs(a - b):9.2e}")
    worst = max(abs(a - b) for a, b in zip(theirs, ours))
    print(f"largest difference: {worst:.2e}")
    assert worst <= TOLERANCE, f"{title}: losses differ by {worst:.2e} > {TOLERANCE}"
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 + 5 steps")
    parser.add_argument("--steps", type=int, default=30, help="steps in each library")
    parser.add_argument("--device", default="cpu", help="gpugrad's device (cpu, cuda)")
    parser.add_argument("--dir", help="where to write the checkpoints (default: a temp dir)")
    args = parser.parse_args(argv)
    steps = 5 if args.quick else args.steps

    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: this example converts a PyTorch checkpoint, so it "
              "is skipped (pip install 'gpugrad[torch]').")  # fmt: skip
        return 0
    has_safetensors = importlib.util.find_spec("safetensors") is not None

    x_np, y_np = make_data()
    torch.manual_seed(0)
    model = torch_model(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    first = train(torch, model, optimizer, x, y, steps)
    print(f"PyTorch, {steps} steps: loss {first[0]:.6f} -> {first[-1]:.6f}")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        checkpoint = folder / "checkpoint.pt"
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, checkpoint)
        weights = folder / "model.safetensors"
        if has_safetensors:
            from safetensors.torch import save_file

            save_file(model.state_dict(), weights)
        saved_state = {k: v.clone() for k, v in model.state_dict().items()}

        # PyTorch goes on from where it was (model and Adam state) ...
        theirs = train(torch, model, optimizer, x, y, steps)

        # ... and so does gpugrad, from the .pt file, without PyTorch's help.
        state = gg.load(checkpoint, map_location=args.device)
        ours_model = gpugrad_model().to(args.device)
        ours_model.load_state_dict(state["model"])
        ours_optimizer = gg.optim.Adam(ours_model.parameters(), lr=0.01)
        ours_optimizer.load_state_dict(state["optimizer"])
        gx = gg.tensor(x_np, device=args.device)
        gy = gg.tensor(y_np, device=args.device)
        ours = train(gg, ours_model, ours_optimizer, gx, gy, steps)
        compare(f"continued from {checkpoint.name} (weights and Adam state)", theirs, ours)

        if has_safetensors:
            # Weights only: both libraries start a fresh Adam from the saved weights.
            model.load_state_dict(saved_state)
            fresh = torch.optim.Adam(model.parameters(), lr=0.01)
            theirs = train(torch, model, fresh, x, y, steps)
            ours_model = gpugrad_model().to(args.device)
            ours_model.load_state_dict(gg.load(weights, map_location=args.device))
            ours_optimizer = gg.optim.Adam(ours_model.parameters(), lr=0.01)
            ours = train(gg, ours_model, ours_optimizer, gx, gy, steps)
            compare(f"continued from {weights.name} (weights, fresh Adam)", theirs, ours)
        else:
            print("\nsafetensors is not installed: the .safetensors half is skipped "
                  "(pip install 'gpugrad[safetensors]').")  # fmt: skip
    print("\nthe losses agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
