"""PyTorch's "What is torch.nn really?" replayed with gpugrad in place of torch, step by
step: the model from manual weights with ``log_softmax`` and ``nll``, then
``nn.functional``, ``nn.Module``, ``nn.Linear``, ``optim``, ``TensorDataset``,
``DataLoader``, validation, ``fit()``/``get_data()``, the CNN, ``nn.Sequential`` with a
``Lambda`` module, ``AdaptiveAvgPool2d`` and ``WrappedDataLoader``. scikit-learn's digits
(bundled, no download) stand in for MNIST, scaled up to 28x28; seeded random images where
scikit-learn is missing. Both libraries start from the same weights and must print the same
(see tests/tutorial_replay.py)."""

# ruff: noqa: B007 - the tutorial's loops name their unused epoch counter

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.tutorial_replay import assert_same_output, fill_parameters, printed, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def _digits() -> tuple[np.ndarray, ...]:
    """700 training and 300 validation images of 784 pixels in [0, 1], with labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(0)
        images = rng.random((1000, 784), dtype=np.float32)
        labels = rng.integers(0, 10, 1000)
    else:
        digits = load_digits()
        small = digits.images[:1000] / 16.0
        images = np.pad(np.kron(small, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
        images = images.reshape(-1, 784).astype(np.float32)
        labels = digits.target[:1000]
    return images[:700], labels[:700], images[700:], labels[700:]


DATA = _digits()
W0 = (np.random.default_rng(1).standard_normal((784, 10)) / math.sqrt(784)).astype(np.float32)


def from_scratch_program(torch, device):
    x_train, y_train, x_valid, y_valid = map(torch.tensor, DATA)
    x_train, y_train = x_train.to(device), y_train.to(device)
    n, c = x_train.shape
    print(x_train, y_train)
    print(x_train.shape)
    print(y_train.min(), y_train.max())
    weights = torch.tensor(W0).to(device)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True, device=device)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64
    xb = x_train[0:bs]
    preds = model(xb)
    print(preds[0], preds.shape)

    def nll(input, target):
        # the tutorial indexes with range(target.shape[0]): test_tutorials_gaps.py
        return -input[torch.arange(target.shape[0]), target].mean()

    loss_func = nll
    yb = y_train[0:bs]
    print(loss_func(preds, yb))

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    print(accuracy(preds, yb))
    lr = 0.5
    epochs = 2
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    print(loss_func(model(xb), yb), accuracy(model(xb), yb))

    F = torch.nn.functional
    loss_func = F.cross_entropy

    def model(xb):  # noqa: F811 - the tutorial redefines it
        return xb @ weights + bias

    print(loss_func(model(xb), yb), accuracy(model(xb), yb))


def test_from_scratch_then_functional(device, capsys):
    ours, theirs = replay(from_scratch_program, device, capsys)
    assert_same_output(ours, theirs)


def refactor_program(torch, device):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    TensorDataset = torch.utils.data.TensorDataset
    DataLoader = torch.utils.data.DataLoader
    x_train, y_train, x_valid, y_valid = (t.to(device) for t in map(torch.tensor, DATA))
    n, c = x_train.shape
    bs = 64
    lr = 0.5
    epochs = 2
    loss_func = F.cross_entropy
    xb, yb = x_train[0:bs], y_train[0:bs]

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    model = Mnist_Logistic().to(device)
    with torch.no_grad():
        model.weights.copy_(torch.tensor(W0))
    print(loss_func(model(xb), yb))

    def fit():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    print(loss_func(model(xb), yb))

    class Mnist_Logistic(nn.Module):  # noqa: F811 - the tutorial redefines it
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    def get_model():
        model = Mnist_Logistic().to(device)
        with torch.no_grad():
            model.lin.weight.copy_(torch.tensor(W0.T))
            model.lin.bias.zero_()
        return model, optim.SGD(model.parameters(), lr=lr)

    model, opt = get_model()
    print(model)
    print(loss_func(model(xb), yb))
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
    print(loss_func(model(xb), yb))

    train_ds = TensorDataset(x_train, y_train)
    model, opt = get_model()
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            xb, yb = train_ds[i * bs : i * bs + bs]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
    print(loss_func(model(xb), yb))

    train_dl = DataLoader(train_ds, batch_size=bs)
    valid_ds = TensorDataset(x_valid, y_valid)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
    model, opt = get_model()
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)
        print(epoch, valid_loss / len(valid_dl))


def test_refactor_with_module_linear_optim_dataset_dataloader(device, capsys):
    ours, theirs = replay(refactor_program, device, capsys)
    assert_same_output(ours, theirs)


def _fit_tools(torch, shuffle):
    DataLoader = torch.utils.data.DataLoader

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            print(epoch, val_loss)

    def get_data(train_ds, valid_ds, bs):
        # the tutorial shuffles; the two libraries' shuffles differ, so the compared runs
        # do not (test_fit_with_shuffled_batches_learns checks shuffling)
        return (
            DataLoader(train_ds, batch_size=bs, shuffle=shuffle),
            DataLoader(valid_ds, batch_size=bs * 2),
        )

    return fit, get_data


class _Lambda:
    """The tutorial's ``Lambda`` module, for either library."""

    @staticmethod
    def make(nn):
        class Lambda(nn.Module):
            def __init__(self, func):
                super().__init__()
                self.func = func

            def forward(self, x):
                return self.func(x)

        return Lambda


def cnn_program(torch, device, shuffle=False, epochs=1):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    TensorDataset = torch.utils.data.TensorDataset
    x_train, y_train, x_valid, y_valid = (t.to(device) for t in map(torch.tensor, DATA))
    train_ds, valid_ds = TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid)
    bs = 64
    loss_func = F.cross_entropy
    fit, get_data = _fit_tools(torch, shuffle)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    lr = 0.1
    model = Mnist_CNN().to(device)
    fill_parameters(torch, model, scale=0.2)
    print(model)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    Lambda = _Lambda.make(nn)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    model = nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    ).to(device)
    print(model)
    fill_parameters(torch, model, scale=0.2)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    def preprocess(x, y):  # noqa: F811 - the tutorial redefines it
        return x.view(-1, 1, 28, 28).to(dev), y.to(dev)

    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func

        def __len__(self):
            return len(self.dl)

        def __iter__(self):
            for b in self.dl:
                yield (self.func(*b))

    print(torch.cuda.is_available() in (True, False))
    dev = torch.device(device)
    print(dev.type == device)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess)
    valid_dl = WrappedDataLoader(valid_dl, preprocess)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    print(model)
    model.to(dev)
    fill_parameters(torch, model, scale=0.2)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    print(len(train_dl), len(valid_dl))
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)


def test_cnn_sequential_lambda_adaptive_pool_wrapped_loader(device, capsys):
    assert_same_output(*replay(cnn_program, device, capsys))


def test_fit_with_shuffled_batches_learns(device):
    import gpugrad as gg

    out = printed(lambda L, dev: cnn_program(L, dev, shuffle=True, epochs=3), gg, device)
    losses = [float(line.split()[1]) for line in out.splitlines() if line[:2] in ("0 ", "2 ")]
    assert len(losses) == 6
    for first, last in zip(losses[::2], losses[1::2]):
        assert last < first  # three epochs of shuffled batches lower the validation loss
