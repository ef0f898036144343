"""PyTorch's "Learn the Basics" tutorials replayed with gpugrad in place of torch: tensors,
Datasets & DataLoaders (a custom Dataset over in-memory arrays), building the model,
autograd, the optimization loop and saving/loading. Each program runs under PyTorch and
under gpugrad from the same seeded weights and data, and must print the same text with the
same numbers (to float tolerance); see tests/tutorial_replay.py."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import gpugrad as gg
from tests.tutorial_replay import assert_same_output, fill_parameters, replay

torch_module = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def tensors_program(torch, device):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    print(x_data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    print(x_np)
    x_ones = torch.ones_like(x_data)
    print(f"Ones Tensor: \n {x_ones} \n")
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    print(x_rand.shape, x_rand.dtype, bool(((x_rand >= 0) & (x_rand < 1)).all()))
    shape = (2, 3)
    print(f"Zeros Tensor: \n {torch.zeros(shape)}")
    print(f"Ones Tensor: \n {torch.ones(shape)}")
    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())
    tensor = torch.ones(4, 4, device=device)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    print(tensor)
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    print(y1, torch.equal(y1, y2))
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    print(z1, torch.equal(z1, z2))
    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))
    print(f"{tensor} \n")
    tensor.add_(5)
    print(tensor)
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")


def test_tensors(device, capsys):
    assert_same_output(*replay(tensors_program, device, capsys))


def datasets_program(torch, device):
    Dataset = torch.utils.data.Dataset
    DataLoader = torch.utils.data.DataLoader

    class CustomImageDataset(Dataset):
        def __init__(self, images, labels, transform=None, target_transform=None):
            self.images = images
            self.labels = labels
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, idx):
            image = self.images[idx]
            label = int(self.labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    rng = np.random.default_rng(0)
    images = rng.random((100, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 100)
    one_hot = lambda y: torch.zeros(10, dtype=torch.float).scatter_(  # noqa: E731
        0, torch.tensor(y), value=1
    )
    training_data = CustomImageDataset(images, labels, torch.from_numpy, one_hot)
    image, label = training_data[3]
    print(image.shape, label)
    train_dataloader = DataLoader(training_data, batch_size=64, shuffle=False)
    print(len(train_dataloader), len(train_dataloader.dataset))
    train_features, train_labels = next(iter(train_dataloader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")
    img = train_features[0].squeeze()
    label = train_labels[0]
    print(img.shape, img.sum(), label)
    plain = DataLoader(CustomImageDataset(images, labels), batch_size=64, shuffle=True)
    sizes = []
    for features, targets in plain:
        sizes.append(len(targets))
        print(features.shape, features.dtype, targets.dtype)
    print(sizes)
    batches = list(DataLoader(CustomImageDataset(images, labels), batch_size=32, drop_last=True))
    print(len(batches), batches[-1][1])


def test_datasets_and_dataloaders(device, capsys):
    assert_same_output(*replay(datasets_program, device, capsys))


def _network(nn):
    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    return NeuralNetwork


def _module_level(L):
    """The tutorial's ``NeuralNetwork`` for library ``L``, reachable by name from this module
    (``save(model)`` pickles the class by reference, so it must not be a local)."""
    cls = _network(L.nn)
    cls.__qualname__ = f"NeuralNetwork_{L.__name__}"
    globals()[cls.__qualname__] = cls
    return cls


NETWORKS = {L.__name__: _module_level(L) for L in (torch_module, gg)}


def build_model_program(torch, device):
    nn = torch.nn
    accelerator = torch.accelerator
    chosen = accelerator.current_accelerator().type if accelerator.is_available() else "cpu"
    print(chosen in ("cpu", "cuda"))
    model = NETWORKS[torch.__name__]().to(device)
    print(model)
    fill_parameters(torch, model)
    X = torch.from_numpy(np.random.default_rng(1).random((1, 28, 28), dtype=np.float32))
    logits = model(X.to(device))
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")
    print(logits, pred_probab)
    input_image = torch.from_numpy(np.random.default_rng(2).random((3, 28, 28), dtype=np.float32))
    print(input_image.size())
    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    print(flat_image.size())
    layer1 = nn.Linear(in_features=28 * 28, out_features=20)
    fill_parameters(torch, layer1, seed=3)
    hidden1 = layer1(flat_image)
    print(hidden1.size())
    print(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")
    seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), nn.Linear(20, 10))
    fill_parameters(torch, seq_modules, seed=4)
    logits = seq_modules(input_image)
    softmax = nn.Softmax(dim=1)
    pred_probab = softmax(logits)
    print(seq_modules)
    print(pred_probab)
    print(f"Model structure: {model}\n\n")
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")


def test_build_the_model(device, capsys):
    assert_same_output(*replay(build_model_program, device, capsys))


def autograd_program(torch, device):
    x = torch.ones(5, device=device)
    y = torch.zeros(3, device=device)
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.standard_normal((5, 3)).astype(np.float32), device=device)
    w.requires_grad_(True)
    b = torch.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True, device=device)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    print(loss)
    loss.backward()
    print(w.grad)
    print(b.grad)
    z = torch.matmul(x, w) + b
    print(z.requires_grad)
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    print(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    print(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True, device=device)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")


def test_autograd(device, capsys):
    ours, theirs = replay(autograd_program, device, capsys)
    assert_same_output(ours, theirs)
    assert re.search(r"Gradient function for z = <AddBackward0 object at 0x[0-9a-f]+>", ours)


def _mnist_like(torch, device):
    rng = np.random.default_rng(1)
    TensorDataset = torch.utils.data.TensorDataset
    train = TensorDataset(
        torch.from_numpy(rng.random((256, 1, 28, 28), dtype=np.float32)).to(device),
        torch.from_numpy(rng.integers(0, 10, 256)).to(device),
    )
    test = TensorDataset(
        torch.from_numpy(rng.random((64, 1, 28, 28), dtype=np.float32)).to(device),
        torch.from_numpy(rng.integers(0, 10, 64)).to(device),
    )
    return train, test


def optimization_program(torch, device):
    nn = torch.nn
    DataLoader = torch.utils.data.DataLoader
    training_data, test_data = _mnist_like(torch, device)
    learning_rate = 1e-3
    batch_size = 64
    epochs = 3
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    model = NETWORKS[torch.__name__]().to(device)
    fill_parameters(torch, model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 2 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                # the tutorial writes .type(torch.float): see test_tutorials_gaps.py
                correct += (pred.argmax(1) == y).float().sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)
    print("Done!")
    print(optimizer.state_dict()["param_groups"])
    print(optimizer)


def test_optimization_loop(device, capsys):
    assert_same_output(*replay(optimization_program, device, capsys))


def save_load_program(torch, device, directory):
    model = NETWORKS[torch.__name__]().to(device)
    fill_parameters(torch, model)
    weights = os.path.join(directory, f"{torch.__name__}_model_weights.pth")
    torch.save(model.state_dict(), weights)
    model2 = NETWORKS[torch.__name__]().to(device)
    print(model2.load_state_dict(torch.load(weights, weights_only=True)))
    model2.eval()
    print(model2.training, model.training)
    X = torch.from_numpy(np.random.default_rng(5).random((2, 28, 28), dtype=np.float32))
    with torch.no_grad():
        print(torch.equal(model2(X.to(device)), model(X.to(device))), model2(X.to(device)))
    whole = os.path.join(directory, f"{torch.__name__}_model.pth")
    torch.save(model, whole)
    model3 = torch.load(whole, weights_only=False)
    print(type(model3).__name__, model3)
    with torch.no_grad():
        print(torch.equal(model3(X.to(device)), model(X.to(device))))
    print([type(p).__name__ for p in model3.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(X.to(device)).sum().backward()
    optimizer.step()
    checkpoint = os.path.join(directory, f"{torch.__name__}_checkpoint.tar")
    torch.save(
        {
            "epoch": 3,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "loss": 0.25,
        },
        checkpoint,
    )
    restored = NETWORKS[torch.__name__]().to(device)
    restored_optimizer = torch.optim.SGD(restored.parameters(), lr=0.5)
    state = torch.load(checkpoint, weights_only=True)
    print(restored.load_state_dict(state["model_state_dict"]))
    restored_optimizer.load_state_dict(state["optimizer_state_dict"])
    print(state["epoch"], state["loss"], restored_optimizer)
    buffer = restored_optimizer.state_dict()["state"][0]["momentum_buffer"]
    print(buffer.shape, buffer.sum())


def test_save_and_load(device, capsys, tmp_path):
    program = lambda L, dev: save_load_program(L, dev, str(tmp_path))  # noqa: E731
    assert_same_output(*replay(program, device, capsys))


def test_a_whole_model_loads_only_with_weights_only_false(device, tmp_path):
    model = NETWORKS["gpugrad"]().to(device)
    path = tmp_path / "model.pth"
    gg.save(model, path)
    with pytest.raises(gg.serialization.CheckpointError, match="weights_only=False"):
        gg.load(path)
    loaded = gg.load(path, weights_only=False)
    for (name, p), (loaded_name, q) in zip(model.named_parameters(), loaded.named_parameters()):
        assert name == loaded_name and isinstance(q, gg.nn.Parameter)
        assert q.device == p.device and gg.equal(q, p)
