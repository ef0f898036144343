"""More PyTorch tutorials replayed with gpugrad in place of torch, on small synthetic data:

- language modeling with ``nn.Transformer`` (``TransformerEncoder``/``TransformerEncoderLayer``,
  ``PositionalEncoding`` with ``register_buffer``,
  ``nn.Transformer.generate_square_subsequent_mask``, ``batchify``/``get_batch``,
  ``clip_grad_norm_``, ``StepLR``, saving and loading the best ``state_dict``);
- text classification with ``nn.EmbeddingBag`` (offsets, ``mode='mean'``, ``collate_batch``,
  ``SGD``, ``StepLR``, ``clip_grad_norm_``, ``argmax``);
- the FGSM adversarial example (``data.requires_grad = True``, ``data.grad.sign()``,
  ``clamp``, ``F.nll_loss``, ``log_softmax``, ``max(1, keepdim=True)``, ``denorm``);
- spatial transformer networks (``F.affine_grid``/``F.grid_sample``, ``Dropout2d``,
  ``nll_loss(size_average=False)``, ``pred.eq(target.view_as(pred))``);
- reinforcement learning (DQN) with a replay memory (``namedtuple``/``deque``),
  ``gather(1, action)``, ``max(1).values``/``.indices``, ``SmoothL1Loss``,
  ``clip_grad_value_``, ``AdamW(amsgrad=True)``, the soft update of the target network
  through ``state_dict`` loops and a ``bool`` mask of non-final states, on a small
  deterministic environment written here (no gymnasium).

Both libraries start from the same seeded parameters; dropout-carrying models train in
``eval()`` mode (their masks would differ) and loaders do not shuffle. The new layers and
functions are checked further below: values and gradients against PyTorch, and float64
``gradcheck``/``gradgradcheck``.
"""

from __future__ import annotations

import math
import random
import warnings
from collections import deque, namedtuple
from itertools import count

import numpy as np
import pytest

import gpugrad as gg
from tests.tutorial_replay import assert_same_output, fill_parameters, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


# --- language modeling with nn.Transformer ------------------------------------------------


def transformer_lm_program(torch, device, tmp_path):  # noqa: C901 - the tutorial's cells
    nn = torch.nn
    TransformerEncoder, TransformerEncoderLayer = nn.TransformerEncoder, nn.TransformerEncoderLayer

    class TransformerModel(nn.Module):
        def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.5):
            super().__init__()
            self.model_type = "Transformer"
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
            print([str(w.message) for w in caught])
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            self.init_weights()

        def init_weights(self):
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src, src_mask=None):
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(device)
            output = self.transformer_encoder(src, src_mask)
            output = self.linear(output)
            return output

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[: x.size(0)]
            return self.dropout(x)

    rng = np.random.default_rng(0)
    ntokens = 20
    stream = torch.tensor(rng.integers(0, ntokens, 200), dtype=torch.long)

    def batchify(data, bsz):
        seq_len = data.size(0) // bsz
        data = data[: seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data.to(device)

    train_data = batchify(stream[:160], 4)
    val_data = batchify(stream[160:], 2)
    bptt = 8

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].reshape(-1)
        return data, target

    model = TransformerModel(ntokens, 16, 2, 32, 2, dropout=0.0).to(device)
    print(model.pos_encoder.pe.shape, [name for name, _ in model.named_buffers()])
    fill_parameters(torch, model, seed=6, scale=0.1)
    criterion = nn.CrossEntropyLoss()
    lr = 5.0
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)

    def train(model):
        model.train()
        total_loss = 0.0
        num_batches = len(train_data) // bptt
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):  # noqa: B007
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            total_loss += loss.item()
        lr = scheduler.get_last_lr()[0]
        print(f"| {num_batches:5d} batches | lr {lr:02.2f} | loss {total_loss / (batch + 1):5.2f}")

    def evaluate(model, eval_data):
        model.eval()
        total_loss = 0.0
        with torch.no_grad():
            for i in range(0, eval_data.size(0) - 1, bptt):
                data, targets = get_batch(eval_data, i)
                seq_len = data.size(0)
                output = model(data)
                output_flat = output.view(-1, ntokens)
                total_loss += seq_len * criterion(output_flat, targets).item()
        return total_loss / (len(eval_data) - 1)

    best_val_loss = float("inf")
    best_model_params_path = tmp_path / f"best_model_params_{torch.__name__}.pt"
    for epoch in range(1, 4):
        train(model)
        val_loss = evaluate(model, val_data)
        val_ppl = math.exp(val_loss)
        print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}")
        if val_loss < best_val_loss:
            best_val_loss = val_loss
            torch.save(model.state_dict(), best_model_params_path)
        scheduler.step()
    model.load_state_dict(torch.load(best_model_params_path))
    print(f"best {evaluate(model, val_data):5.4f}")


def test_language_modeling_with_transformer(device, capsys, tmp_path):
    assert_same_output(
        *replay(lambda L, d: transformer_lm_program(L, d, tmp_path), device, capsys),
        rtol=5e-4, atol=5e-4,
    )  # fmt: skip


# --- text classification with EmbeddingBag ------------------------------------------------

TEXTS = [
    (1, "the team won the match"),
    (2, "stocks fell as markets slid"),
    (3, "new chip speeds up phones"),
    (1, "the coach praised the team"),
    (2, "the bank raised rates"),
    (3, "phones get a faster chip"),
    (1, "a late goal won the cup"),
    (2, "markets rose on rates news"),
]


def text_classification_program(torch, device):
    nn = torch.nn
    vocab = {"<unk>": 0}
    for _, text in TEXTS:
        for word in text.split():
            vocab.setdefault(word, len(vocab))

    def text_pipeline(x):
        return [vocab.get(word, 0) for word in x.split()]

    def label_pipeline(x):
        return int(x) - 1

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list.to(device), text_list.to(device), offsets.to(device)

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super(TextClassificationModel, self).__init__()  # noqa: UP008 - the tutorial's
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)

    num_class = len({label for (label, _) in TEXTS})
    model = TextClassificationModel(len(vocab), 8, num_class).to(device)
    print(model)
    fill_parameters(torch, model, seed=7, scale=0.3)
    dataloader = torch.utils.data.DataLoader(
        TEXTS, batch_size=4, shuffle=False, collate_fn=collate_batch
    )
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    total_accu = None

    def train(dataloader):
        model.train()
        total_acc, total_count = 0, 0
        for idx, (label, text, offsets) in enumerate(dataloader):  # noqa: B007 - the tutorial's
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
        return total_acc / total_count

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for idx, (label, text, offsets) in enumerate(dataloader):  # noqa: B007
                predicted_label = model(text, offsets)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    for epoch in range(1, 5):
        train_acc = train(dataloader)
        accu_val = evaluate(dataloader)
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        print(epoch, train_acc, accu_val, scheduler.get_last_lr(), model.fc.bias.data)

    def predict(text, text_pipeline):
        with torch.no_grad():
            text = torch.tensor(text_pipeline(text), device=device)
            output = model(text, torch.tensor([0], device=device))
            return output.argmax(1).item() + 1

    print(predict("the team won", text_pipeline), predict("markets fell", text_pipeline))
    bag = nn.EmbeddingBag(len(vocab), 4, mode="sum").to(device)
    fill_parameters(torch, bag, seed=8)
    print(bag, bag(torch.tensor([[1, 2], [3, 4]], device=device)))


def test_text_classification_with_embedding_bag(device, capsys):
    assert_same_output(*replay(text_classification_program, device, capsys))


# --- FGSM adversarial examples ------------------------------------------------------------


def fgsm_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    F = nn.functional
    epsilons = [0, 0.05, 0.1, 0.2, 0.3]

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    model = Net().to(device)
    fill_parameters(torch, model, seed=9, scale=0.05)
    model.eval()
    rng = np.random.default_rng(10)
    images = rng.uniform(0, 1, (6, 1, 1, 28, 28)).astype(np.float32)
    mean, std = 0.1307, 0.3081
    with torch.no_grad():  # targets: the model's own guesses, but one wrong
        guesses = [
            model(torch.from_numpy((image - mean) / std).to(device)).argmax(1).item()
            for image in images
        ]
    guesses[-1] = (guesses[-1] + 1) % 10
    test_loader = [
        (torch.from_numpy((image - mean) / std), torch.tensor([guess]))
        for image, guess in zip(images, guesses, strict=True)
    ]

    def fgsm_attack(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed_image = image + epsilon * sign_data_grad
        perturbed_image = torch.clamp(perturbed_image, 0, 1)
        return perturbed_image

    def denorm(batch, mean=[0.1307], std=[0.3081]):  # noqa: B006 - the tutorial's
        if isinstance(mean, list):
            mean = torch.tensor(mean).to(device)
        if isinstance(std, list):
            std = torch.tensor(std).to(device)
        return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

    def normalize(batch):  # transforms.Normalize((0.1307,), (0.3081,))
        return (batch - 0.1307) / 0.3081

    def test(model, device, test_loader, epsilon):
        correct = 0
        adv_examples = []
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            data.requires_grad = True
            output = model(data)
            init_pred = output.max(1, keepdim=True)[1]
            if init_pred.item() != target.item():
                continue
            loss = F.nll_loss(output, target)
            model.zero_grad()
            loss.backward()
            data_grad = data.grad.data
            data_denorm = denorm(data)
            perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
            perturbed_data_normalized = normalize(perturbed_data)
            output = model(perturbed_data_normalized)
            final_pred = output.max(1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
                if epsilon == 0 and len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
            else:
                if len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
        final_acc = correct / float(len(test_loader))
        print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")
        return final_acc, adv_examples

    accuracies = []
    examples = []
    for eps in epsilons:
        acc, ex = test(model, device, test_loader, eps)
        accuracies.append(acc)
        examples.append(ex)
    print([(e[0], e[1], float(e[2].mean())) for e in examples[-1]])


def test_fgsm(device, capsys):
    assert_same_output(*replay(fgsm_program, device, capsys))


# --- spatial transformer networks ---------------------------------------------------------


def stn_program(torch, device):
    nn = torch.nn
    F = nn.functional
    optim = torch.optim

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 8, kernel_size=7),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
                nn.Conv2d(8, 10, kernel_size=5),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
            )
            self.fc_loc = nn.Sequential(
                nn.Linear(10 * 3 * 3, 32), nn.ReLU(True), nn.Linear(32, 3 * 2)
            )

        def init_identity(self):
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 10 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size())
            x = F.grid_sample(x, grid)
            return x

        def forward(self, x):
            x = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    model = Net().to(device)
    print(model)
    fill_parameters(torch, model, seed=11, scale=0.1)
    model.init_identity()
    model.eval()
    rng = np.random.default_rng(12)
    data = torch.from_numpy(rng.standard_normal((4, 1, 28, 28)).astype(np.float32)).to(device)
    with torch.no_grad():
        print((model.stn(data) - data).abs().max())  # identity at the start
        # off the identity, the sampling points leave the pixel grid: there the grid's
        # gradient is continuous, while at the grid it depends on the last bit of
        # linspace (and gpugrad's linspace rounds a few values differently)
        model.fc_loc[2].bias.add_(
            torch.from_numpy(rng.uniform(-0.05, 0.05, 6).astype(np.float32)).to(device)
        )
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    target = torch.tensor([1, 7, 3, 1], device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(4):
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            print(step, loss.item(), model.fc_loc[2].bias.grad)
    print(sorted({str(w.message)[:40] for w in caught}))
    with torch.no_grad():
        test_loss = F.nll_loss(model(data), target, size_average=False).item()
        pred = model(data).max(1, keepdim=True)[1]
        correct = pred.eq(target.view_as(pred)).sum().item()
        print(test_loss, correct, model.stn(data)[0, 0, 10, 10:14])


def test_spatial_transformer_networks(device, capsys):
    # theta's gradient sums thousands of per-point terms of both signs (image differences
    # times output gradients), so float32 rounding shows in its 4th digit after a few steps
    assert_same_output(*replay(stn_program, device, capsys), atol=5e-4)


# --- reinforcement learning (DQN) ---------------------------------------------------------


class LineWorld:
    """A small deterministic stand-in for CartPole: a cart on a line with a velocity;
    action 1 pushes right, 0 left; the episode ends when it leaves [-1, 1] (terminated) or
    after 30 steps (truncated). Reward 1 per step."""

    n_actions = 2
    n_observations = 2

    def __init__(self):
        self.rng = random.Random(0)

    def reset(self):
        self.position = self.rng.uniform(-0.2, 0.2)
        self.velocity = self.rng.uniform(-0.05, 0.05)
        self.steps = 0
        return [self.position, self.velocity], {}

    def sample_action(self):
        return self.rng.randrange(2)

    def step(self, action):
        self.velocity += 0.02 if action == 1 else -0.02
        self.position += self.velocity
        self.steps += 1
        terminated = abs(self.position) > 1.0
        truncated = self.steps >= 30
        return [self.position, self.velocity], 1.0, terminated, truncated, {}


def dqn_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    F = nn.functional
    optim = torch.optim
    random.seed(0)
    env = LineWorld()
    Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))

    class ReplayMemory(object):  # noqa: UP004 - the tutorial's spelling
        def __init__(self, capacity):
            self.memory = deque([], maxlen=capacity)

        def push(self, *args):
            self.memory.append(Transition(*args))

        def sample(self, batch_size):
            return random.sample(self.memory, batch_size)

        def __len__(self):
            return len(self.memory)

    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super(DQN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.layer1 = nn.Linear(n_observations, 32)
            self.layer2 = nn.Linear(32, 32)
            self.layer3 = nn.Linear(32, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    BATCH_SIZE = 16
    GAMMA = 0.99
    EPS_START = 0.9
    EPS_END = 0.01
    EPS_DECAY = 50
    TAU = 0.005
    LR = 3e-4
    policy_net = DQN(env.n_observations, env.n_actions).to(device)
    fill_parameters(torch, policy_net, seed=13, scale=0.3)
    target_net = DQN(env.n_observations, env.n_actions).to(device)
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(10000)
    steps_done = 0

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        else:
            return torch.tensor([[env.sample_action()]], device=device, dtype=torch.long)

    losses = []

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions, strict=True))
        non_final_mask = torch.tensor(
            tuple(map(lambda s: s is not None, batch.next_state)), device=device, dtype=torch.bool
        )
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE, device=device)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        losses.append(loss.item())

    episode_durations = []
    for i_episode in range(4):  # noqa: B007 - the tutorial's loop
        state, info = env.reset()
        state = torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0)
        for t in count():
            action = select_action(state)
            observation, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            done = terminated or truncated
            if terminated:
                next_state = None
            else:
                next_state = torch.tensor(
                    observation, dtype=torch.float32, device=device
                ).unsqueeze(0)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model()
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[
                    key
                ] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if done:
                episode_durations.append(t + 1)
                break
    print("Complete", episode_durations, len(memory), steps_done)
    print(["%.5f" % v for v in losses[::10]])  # noqa: UP031
    print(target_net.layer3.bias, policy_net.layer3.bias)
    durations_t = torch.tensor(episode_durations, dtype=torch.float)
    print(durations_t.mean(), durations_t.unfold(0, 2, 1).mean(1).view(-1))


def test_dqn(device, capsys):
    assert_same_output(*replay(dqn_program, device, capsys))


# --- the new layers and functions against PyTorch -----------------------------------------


def port_weights(torch_module, ours):
    ours.load_state_dict(
        {k: gg.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    )


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_pytorch(batch_first, norm_first, device):
    torch = pytest.importorskip("torch")
    kw = dict(
        d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
        dropout=0.0, batch_first=batch_first, norm_first=norm_first, activation="gelu",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(**kw)
        ours = gg.nn.Transformer(**kw, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert str(ours) == str(theirs)
    port_weights(theirs, ours)
    rng = np.random.default_rng(0)
    src = rng.standard_normal((5, 3, 8)).astype(np.float32)
    tgt = rng.standard_normal((4, 3, 8)).astype(np.float32)
    if batch_first:
        src, tgt = src.transpose(1, 0, 2).copy(), tgt.transpose(1, 0, 2).copy()
    pad = np.zeros((3, 5), bool)
    pad[0, -2:] = True
    t_src, t_tgt = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    g_src = gg.tensor(src, requires_grad=True, device=device)
    g_tgt = gg.tensor(tgt, requires_grad=True, device=device)
    t_out = theirs(
        t_src, t_tgt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4),
        src_key_padding_mask=torch.tensor(pad), memory_key_padding_mask=torch.tensor(pad),
    )  # fmt: skip
    g_out = ours(
        g_src, g_tgt,
        tgt_mask=gg.nn.Transformer.generate_square_subsequent_mask(4, device=device),
        src_key_padding_mask=gg.tensor(pad, device=device),
        memory_key_padding_mask=gg.tensor(pad, device=device),
    )  # fmt: skip
    np.testing.assert_allclose(g_out.detach().cpu().numpy(), t_out.detach().numpy(), atol=1e-5)
    (t_out**2).sum().backward()
    (g_out**2).sum().backward()
    np.testing.assert_allclose(g_src.grad.cpu().numpy(), t_src.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(g_tgt.grad.cpu().numpy(), t_tgt.grad.numpy(), atol=1e-5)
    for (name, p), (_, q) in zip(theirs.named_parameters(), ours.named_parameters(), strict=True):
        np.testing.assert_allclose(q.grad.cpu().numpy(), p.grad.numpy(), atol=1e-4, err_msg=name)


def test_transformer_construction_as_pytorch(device):
    torch = pytest.importorskip("torch")
    model = gg.nn.Transformer(d_model=8, nhead=2, dim_feedforward=4, device=device)
    for name, p in model.named_parameters():  # xavier_uniform_ on every matrix
        if p.dim() > 1:
            bound = math.sqrt(6.0 / (p.shape[0] + p.shape[1]))
            assert float(p.abs().max()) <= bound + 1e-6, name
    assert len(model.encoder.layers) == 6 and len(model.decoder.layers) == 6
    assert model.encoder.layers[0] is not model.encoder.layers[1]
    mask = gg.nn.Transformer.generate_square_subsequent_mask(3, dtype=gg.float64)
    expected = torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64)
    assert mask.dtype == gg.float64 and mask.tolist() == expected.tolist()
    src = gg.zeros(5, 2, 8, device=device)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(src, gg.zeros(4, 3, 8, device=device))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        model(src, gg.zeros(4, 2, 6, device=device))
    cases = [((8, 2), {}), ((6, 3), {"batch_first": True}), ((8, 2), {"batch_first": True})]
    cases.append(((8, 2), {"batch_first": True, "norm_first": True}))
    for layer_args, kwargs in cases:
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            encoder = gg.nn.TransformerEncoder(
                gg.nn.TransformerEncoderLayer(*layer_args, **kwargs), 1
            )
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            reference = torch.nn.TransformerEncoder(
                torch.nn.TransformerEncoderLayer(*layer_args, **kwargs), 1
            )
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
        assert encoder.use_nested_tensor == reference.use_nested_tensor


def test_encoder_detects_the_causal_mask_and_pads(device):
    torch = pytest.importorskip("torch")
    layer_kwargs = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(**layer_kwargs), 2, norm=torch.nn.LayerNorm(8)
        )
        ours = gg.nn.TransformerEncoder(
            gg.nn.TransformerEncoderLayer(**layer_kwargs, device=device), 2,
            norm=gg.nn.LayerNorm(8, device=device), enable_nested_tensor=False,
        )  # fmt: skip
    port_weights(theirs, ours)
    theirs.eval()
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    pad = np.array([[False] * 5, [False, False, False, True, True]])
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    with torch.no_grad():
        expected = theirs(torch.tensor(x), mask=mask, src_key_padding_mask=torch.tensor(pad))
        expected_causal = theirs(torch.tensor(x), mask=mask, is_causal=True)
    got = ours(
        gg.tensor(x, device=device), mask=gg.tensor(mask.numpy(), device=device),
        src_key_padding_mask=gg.tensor(pad, device=device),
    )  # fmt: skip
    got_causal = ours(
        gg.tensor(x, device=device), mask=gg.tensor(mask.numpy(), device=device), is_causal=True
    )
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.numpy(), atol=1e-5)
    # inference with a left-aligned padding mask and no attention mask: PyTorch runs nested
    # tensors, whose output is zero at the padded positions
    with torch.no_grad():
        expected_nested = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(pad))
    ours.use_nested_tensor = True
    with gg.no_grad():
        got_nested = ours(
            gg.tensor(x, device=device), src_key_padding_mask=gg.tensor(pad, device=device)
        )
    assert not expected_nested.numpy()[pad].any()
    np.testing.assert_allclose(got_nested.cpu().numpy(), expected_nested.numpy(), atol=1e-5)
    ragged = pad.copy()
    ragged[1, 0] = True  # not left-aligned: the ordinary path, values everywhere
    with torch.no_grad():
        expected_ragged = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(ragged))
    with gg.no_grad():
        got_ragged = ours(
            gg.tensor(x, device=device), src_key_padding_mask=gg.tensor(ragged, device=device)
        )
    assert expected_ragged.numpy()[ragged].any()
    np.testing.assert_allclose(got_ragged.cpu().numpy(), expected_ragged.numpy(), atol=1e-5)
    np.testing.assert_allclose(
        got_causal.detach().cpu().numpy(), expected_causal.numpy(), atol=1e-5
    )


# --- affine_grid and grid_sample ----------------------------------------------------------

F = gg.nn.functional


@pytest.mark.parametrize("spatial", [2, 3])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_pytorch(spatial, align_corners, device):
    torch = pytest.importorskip("torch")
    size = (2, 3, 4, 5) if spatial == 2 else (2, 3, 3, 4, 5)
    theta = np.random.default_rng(2).standard_normal((2, spatial, spatial + 1))
    t_theta = torch.tensor(theta, requires_grad=True)
    g_theta = gg.tensor(theta, requires_grad=True, device=device)
    expected = torch.nn.functional.affine_grid(t_theta, size, align_corners=align_corners)
    got = F.affine_grid(g_theta, size, align_corners=align_corners)
    assert got.shape == tuple(expected.shape) and got.dtype == gg.float64
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), atol=1e-12)
    weights = np.random.default_rng(3).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    (got * gg.tensor(weights, device=device)).sum().backward()
    np.testing.assert_allclose(g_theta.grad.cpu().numpy(), t_theta.grad.numpy(), atol=1e-10)
    probe = gg.tensor(theta, requires_grad=True, device=device)
    assert gg.autograd.gradcheck(
        lambda t: F.affine_grid(t, size, align_corners=align_corners), (probe,)
    )


def grid_sample_cases():
    for spatial in (2, 3):
        for mode in ("bilinear", "nearest", "bicubic"):
            if mode == "bicubic" and spatial == 3:
                continue
            for padding_mode in ("zeros", "border", "reflection"):
                for align_corners in (False, True):
                    yield spatial, mode, padding_mode, align_corners


@pytest.mark.parametrize("spatial, mode, padding_mode, align_corners", list(grid_sample_cases()))
def test_grid_sample_matches_pytorch(spatial, mode, padding_mode, align_corners, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    size = (2, 3, 4, 5) if spatial == 2 else (2, 2, 3, 4, 5)
    grid_shape = (2, 3, 4, 2) if spatial == 2 else (2, 2, 3, 4, 3)
    x = rng.standard_normal(size)
    grid = rng.uniform(-1.7, 1.7, grid_shape)
    t_x, t_grid = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
    g_x = gg.tensor(x, requires_grad=True, device=device)
    g_grid = gg.tensor(grid, requires_grad=True, device=device)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    expected = torch.nn.functional.grid_sample(t_x, t_grid, **kwargs)
    got = F.grid_sample(g_x, g_grid, **kwargs)
    assert got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), atol=1e-12)
    weights = rng.standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    (got * gg.tensor(weights, device=device)).sum().backward()
    np.testing.assert_allclose(g_x.grad.cpu().numpy(), t_x.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(g_grid.grad.cpu().numpy(), t_grid.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradcheck(mode, padding_mode, device):
    rng = np.random.default_rng(5)
    x = gg.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True, device=device)
    # points away from pixel edges (finite differences straddle no kink)
    cells = rng.integers(-3, 4, (1, 2, 3, 2)) / 3.0
    grid = gg.tensor(cells * 0.9 + 0.04, requires_grad=True, device=device)

    def sample(x, grid):
        return F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=False)

    assert gg.autograd.gradcheck(sample, (x, grid))
    assert gg.autograd.gradgradcheck(sample, (x, grid))


def test_grid_sample_and_affine_grid_errors_and_warnings_are_pytorchs(device):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    theta = np.zeros((1, 2, 3), np.float32)

    def both(call):
        outcomes = []
        for library, functional in ((torch, tF), (gg, F)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    call(library, functional)
                    outcomes.append((None, [str(w.message) for w in caught]))
                except Exception as error:  # noqa: BLE001 - comparing the two libraries
                    message = str(error).replace("torch.", "").replace("gpugrad.", "")
                    outcomes.append((type(error).__name__, message))
        assert outcomes[0] == outcomes[1]

    def t(L, values, **kw):
        return L.tensor(values, **kw)

    both(lambda L, f: f.affine_grid(t(L, theta), (1, 1, 2, 2)))
    both(lambda L, f: f.affine_grid(t(L, theta), (1, 1, 1, 2), align_corners=True))
    both(lambda L, f: f.affine_grid(t(L, theta), (1, 1, 2)))
    both(lambda L, f: f.affine_grid(t(L, np.zeros((1, 3, 3))), (1, 1, 2, 2), align_corners=False))
    both(
        lambda L, f: f.affine_grid(
            t(L, [[[0, 0, 0], [0, 0, 0]]]), (1, 1, 2, 2), align_corners=False
        )
    )
    both(lambda L, f: f.affine_grid(t(L, theta), (1, 1, 0, 2), align_corners=False))
    image, grid = np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 2, 2, 2), np.float32)
    both(lambda L, f: f.grid_sample(t(L, image), t(L, grid)))
    both(
        lambda L, f: f.grid_sample(
            t(L, image), t(L, np.zeros((1, 2, 2, 3), np.float32)), align_corners=False
        )
    )
    both(lambda L, f: f.grid_sample(t(L, image), t(L, grid), mode="x", align_corners=False))
    both(lambda L, f: f.grid_sample(t(L, image), t(L, grid), padding_mode="x", align_corners=False))
    both(
        lambda L, f: f.grid_sample(
            t(L, np.zeros((2, 1, 2, 2), np.float32)), t(L, grid), align_corners=False
        )
    )
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grid_sample(gg.tensor(image), gg.tensor(grid, dtype=gg.float64), align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        F.grid_sample(
            gg.zeros(1, 1, 2, 2, 2), gg.zeros(1, 1, 1, 1, 3), mode="bicubic", align_corners=False
        )


def test_grid_sample_nearest_keeps_inf_out_of_values(device):
    x = gg.arange(4.0, device=device).reshape(1, 1, 2, 2)
    grid = gg.tensor([[[[0.5, 0.5], [float("inf"), 0.0]]]], requires_grad=True, device=device)
    out = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    assert out.tolist() == [[[[3.0, 0.0]]]]
    out.sum().backward()
    assert grid.grad.tolist() == [[[[0.0, 0.0], [0.0, 0.0]]]]
