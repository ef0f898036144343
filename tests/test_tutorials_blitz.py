"""PyTorch's "Deep Learning with PyTorch: A 60 Minute Blitz" and the sequence-model
tutorial replayed with gpugrad in place of torch: the LeNet "Neural Networks" page (manual
SGD through ``f.data.sub_``, ``out.backward(grad)``), the CIFAR-10 classifier's training
and accuracy loops over a ``DataLoader`` with worker processes (seeded random images
instead of the download), the autograd page, and the LSTM part-of-speech tagger. Both
libraries start from the same weights and must print the same."""

# ruff: noqa: B007, SIM905 - the tutorials' own spelling

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.tutorial_replay import assert_same_output, fill_parameters, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def neural_networks_program(torch, device):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            output = self.fc3(f6)
            return output

    net = Net().to(device)
    print(net)
    fill_parameters(torch, net, scale=0.1)
    params = list(net.parameters())
    print(len(params))
    print(params[0].size())
    rng = np.random.default_rng(0)

    def randn(*shape):
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(device)

    input = randn(1, 1, 32, 32)
    out = net(input)
    print(out.detach())
    net.zero_grad()
    out.backward(randn(1, 10))
    output = net(input)
    target = randn(10)
    target = target.view(1, -1)
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    # its grad_fn and the next_functions walk: test_tutorials_gaps.py (MseLossBackward0)
    print(loss.item())
    net.zero_grad()
    print("conv1.bias.grad before backward")
    print(net.conv1.bias.grad)
    loss.backward()
    print("conv1.bias.grad after backward")
    print(net.conv1.bias.grad)
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()
    print(loss.item(), net(input).detach())


def test_neural_networks(device, capsys):
    assert_same_output(*replay(neural_networks_program, device, capsys))


def classifier_program(torch, device, directory):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    net = Net()
    print(net)
    fill_parameters(torch, net, scale=0.1)
    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.standard_normal((16, 3, 32, 32)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 10, 16))
    trainset = torch.utils.data.TensorDataset(images, labels)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=False, num_workers=2)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    for epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 2 == 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}")
                running_loss = 0.0
    print("Finished Training")
    PATH = os.path.join(directory, f"{torch.__name__}_cifar_net.pth")
    torch.save(net.state_dict(), PATH)
    net = Net()
    print(net.load_state_dict(torch.load(PATH, weights_only=True)))
    dev = torch.device(device)
    net.to(dev)
    correct = 0
    total = 0
    with torch.no_grad():
        for data in trainloader:
            images, labels = data[0].to(dev), data[1].to(dev)
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"Accuracy of the network on the 10000 test images: {100 * correct // total} %")
    classes = tuple(str(i) for i in range(10))
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in trainloader:
            images, labels = data[0].to(dev), data[1].to(dev)
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    print(correct_pred, total_pred)


def test_training_a_classifier(device, capsys, tmp_path):
    program = lambda L, dev: classifier_program(L, dev, str(tmp_path))  # noqa: E731
    assert_same_output(*replay(program, device, capsys))


def blitz_autograd_program(torch, device):
    a = torch.tensor([2.0, 3.0], requires_grad=True, device=device)
    b = torch.tensor([6.0, 4.0], requires_grad=True, device=device)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0], device=device)
    Q.backward(gradient=external_grad)
    print(9 * a**2 == a.grad)
    print(-2 * b == b.grad)
    x = torch.rand(5, 5, device=device)
    y = torch.rand(5, 5, device=device)
    z = torch.rand((5, 5), requires_grad=True, device=device)
    a = x + y
    print(f"Does `a` require gradients?: {a.requires_grad}")
    b = x + z
    print(f"Does `b` require gradients?: {b.requires_grad}")
    model = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.ReLU())
    for param in model.parameters():
        param.requires_grad = False
    model.fc = torch.nn.Linear(512, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    print([tuple(p.shape) for p in optimizer.param_groups[0]["params"] if p.requires_grad])


def test_blitz_autograd(device, capsys):
    assert_same_output(*replay(blitz_autograd_program, device, capsys))


def lstm_tagger_program(torch, device):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    rng = np.random.default_rng(2)
    lstm = nn.LSTM(3, 3).to(device)
    fill_parameters(torch, lstm, scale=0.3)
    inputs = [
        torch.from_numpy(rng.standard_normal((1, 3)).astype(np.float32)).to(device)
        for _ in range(5)
    ]
    hidden = (torch.zeros(1, 1, 3, device=device), torch.zeros(1, 1, 3, device=device))
    for i in inputs:
        out, hidden = lstm(i.view(1, 1, -1), hidden)
    inputs = torch.cat(inputs).view(len(inputs), 1, -1)
    hidden = (torch.zeros(1, 1, 3, device=device), torch.zeros(1, 1, 3, device=device))
    out, hidden = lstm(inputs, hidden)
    print(out.detach())
    print(hidden[0].detach(), hidden[1].detach())

    training_data = [
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ]
    word_to_ix = {}
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long, device=device)

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super(LSTMTagger, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    model = LSTMTagger(6, 6, len(word_to_ix), len(tag_to_ix)).to(device)
    print(model)
    fill_parameters(torch, model, scale=0.3)
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        print(tag_scores)
    for epoch in range(30):
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0:
            print(epoch, loss.item())
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        print(tag_scores, tag_scores.argmax(1))


def test_lstm_tagger(device, capsys):
    assert_same_output(*replay(lstm_tagger_program, device, capsys))
