"""PyTorch's "NLP From Scratch" tutorials replayed with gpugrad in place of torch, on a few
hand-written names and sentence pairs (nothing downloaded):

- classifying names with a character-level RNN: ``unicodeToAscii``, one-hot
  ``lineToTensor``, the hand-written ``RNN`` (``torch.cat``, ``nn.Linear``,
  ``nn.LogSoftmax``), ``NLLLoss``, the manual update ``p.data.add_(p.grad.data,
  alpha=-learning_rate)``, ``topk`` and the confusion matrix; then the ``nn.RNN`` version
  (``CharRNN``, summed batch losses, ``clip_grad_norm_``, ``SGD``);
- generating names with a character-level RNN: category + input + hidden, ``Dropout``,
  ``torch.LongTensor``, ``torch.Tensor([0])`` accumulating the loss, ``unsqueeze_`` and
  sampling with ``all_letters[topi]``;
- translation with a sequence to sequence network and attention: ``EncoderRNN``
  (``Embedding``, ``GRU(batch_first=True)``), ``BahdanauAttention`` (``Wa``/``Ua``/``Va``,
  ``bmm``, softmax), ``AttnDecoderRNN`` with teacher forcing and greedy decoding
  (``topk``, ``squeeze``/``unsqueeze``, ``detach``), ``TensorDataset``/``DataLoader``,
  ``NLLLoss`` and two ``Adam`` optimizers.

Both libraries start from the same seeded parameters; the models run in ``eval()`` mode
(their dropout would draw different masks) and the data loaders do not shuffle.
"""

from __future__ import annotations

import string
import unicodedata

import numpy as np
import pytest

import gpugrad as gg
from tests.tutorial_replay import assert_same_output, fill_parameters, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

NAMES = {
    "English": ["Abbott", "Baker", "Smith", "Wright"],
    "French": ["Bélanger", "Dubois", "Lefèvre", "Moreau"],
    "Italian": ["Abbadelli", "Bianchi", "Rossi", "Ricci"],
}


def unicodeToAscii(s):
    return "".join(
        c for c in unicodedata.normalize("NFD", s)
        if unicodedata.category(c) != "Mn" and c in all_letters
    )  # fmt: skip


def category_lines():
    all_categories = list(NAMES)
    lines = {category: [unicodeToAscii(n) for n in names] for category, names in NAMES.items()}
    return all_categories, lines


def classification_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    all_categories, lines = category_lines()
    n_categories = len(all_categories)
    print(unicodeToAscii("Ślusàrski"), n_categories)

    def letterToIndex(letter):
        return all_letters.find(letter)

    def letterToTensor(letter):
        tensor = torch.zeros(1, n_letters, device=device)
        tensor[0][letterToIndex(letter)] = 1
        return tensor

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters, device=device)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    print(letterToTensor("J").nonzero())
    print(lineToTensor("Jones").size())

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            hidden = self.i2h(combined)
            output = self.h2o(hidden)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size, device=device)

    n_hidden = 16
    rnn = RNN(n_letters, n_hidden, n_categories).to(device)
    print(rnn)
    fill_parameters(torch, rnn, seed=1, scale=0.1)
    input = lineToTensor("Albert")
    hidden = torch.zeros(1, n_hidden, device=device)
    output, next_hidden = rnn(input[0], hidden)
    print(output)

    def categoryFromOutput(output):
        top_n, top_i = output.topk(1)
        category_i = top_i[0].item()
        return all_categories[category_i], category_i

    print(categoryFromOutput(output))
    criterion = nn.NLLLoss()
    learning_rate = 0.005

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()

    examples = [(c, line) for c in all_categories for line in lines[c]]
    for epoch in range(3):
        current_loss = 0
        for category, line in examples:
            category_tensor = torch.tensor(
                [all_categories.index(category)], dtype=torch.long, device=device
            )
            output, loss = train(category_tensor, lineToTensor(line))
            current_loss += loss
        guess, guess_i = categoryFromOutput(output)
        print("%d %.4f %s / %s" % (epoch, current_loss / len(examples), line, guess))  # noqa: UP031

    confusion = torch.zeros(n_categories, n_categories, device=device)

    def evaluate(line_tensor):
        hidden = rnn.initHidden()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        return output

    for category, line in examples:
        output = evaluate(lineToTensor(line))
        guess, guess_i = categoryFromOutput(output)
        category_i = all_categories.index(category)
        confusion[category_i][guess_i] += 1
    for i in range(n_categories):
        confusion[i] = confusion[i] / confusion[i].sum()
    print(confusion)


def nn_rnn_classification_program(torch, device):
    nn = torch.nn
    all_categories, lines = category_lines()

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters, device=device)
        for li, letter in enumerate(line):
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(CharRNN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            rnn_out, hidden = self.rnn(line_tensor)
            output = self.h2o(hidden[0])
            output = self.softmax(output)
            return output

    rnn = CharRNN(n_letters, 16, len(all_categories)).to(device)
    print(rnn)
    fill_parameters(torch, rnn, seed=2, scale=0.1)
    training_data = [
        (
            torch.tensor([all_categories.index(c)], dtype=torch.long, device=device),
            lineToTensor(line),
            c,
            line,
        )
        for c in all_categories
        for line in lines[c]
    ]
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=0.15)
    rnn.train()
    batches = np.array_split(np.arange(len(training_data)), 3)
    for epoch in range(4):
        current_loss = 0
        for idx, batch in enumerate(batches):  # noqa: B007 - the tutorial's loop
            batch_loss = 0
            for i in batch:
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss
            batch_loss.backward()
            norm = nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()
            current_loss += batch_loss.item() / len(batch)
        print(epoch, current_loss / len(batches), norm)
    rnn.eval()
    with torch.no_grad():
        output = rnn(lineToTensor("Rossi"))
        print(output, output.topk(1))


def generation_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    all_categories, category_lines_ = category_lines()
    n_categories = len(all_categories)
    n = n_letters + 1  # plus EOS marker

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    def categoryTensor(category):
        li = all_categories.index(category)
        tensor = torch.zeros(1, n_categories)
        tensor[0][li] = 1
        return tensor

    def inputTensor(line):
        tensor = torch.zeros(len(line), 1, n)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    def targetTensor(line):
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n - 1)  # EOS
        return torch.LongTensor(letter_indexes)

    rnn = RNN(n, 32, n)
    print(rnn)
    fill_parameters(torch, rnn, seed=3, scale=0.1)
    rnn.eval()
    criterion = nn.NLLLoss()
    learning_rate = 0.0005

    def train(category_tensor, input_line_tensor, target_line_tensor):
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = torch.Tensor([0])
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])  # noqa: E741 - the tutorial's name
            loss += l
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item() / input_line_tensor.size(0)

    for epoch in range(2):
        total_loss = 0
        for category in all_categories:
            for line in category_lines_[category]:
                output, loss = train(
                    categoryTensor(category), inputTensor(line), targetTensor(line)
                )
                total_loss += loss
        print(epoch, total_loss)
    max_length = 8

    def sample(category, start_letter="A"):
        with torch.no_grad():
            category_tensor = categoryTensor(category)
            input = inputTensor(start_letter)
            hidden = rnn.initHidden()
            output_name = start_letter
            for i in range(max_length):  # noqa: B007 - the tutorial's loop
                output, hidden = rnn(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n - 1:
                    break
                else:
                    letter = all_letters[topi]
                    output_name += letter
                input = inputTensor(letter)
            return output_name

    for category in all_categories:
        print(category, sample(category, "R"), sample(category, "B"))
    print(isinstance(targetTensor("ab"), torch.LongTensor), torch.Tensor(2, 3).shape)


SOS_token, EOS_token, MAX_LENGTH = 0, 1, 6
PAIRS = [
    ("je suis froid", "i am cold"),
    ("il est grand", "he is tall"),
    ("elle est petite", "she is small"),
    ("je suis grand", "i am tall"),
    ("il est froid", "he is cold"),
    ("elle est grande", "she is tall"),
]


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.index2word = {0: "SOS", 1: "EOS"}
        self.n_words = 2

    def addSentence(self, sentence):
        for word in sentence.split(" "):
            if word not in self.word2index:
                self.word2index[word] = self.n_words
                self.index2word[self.n_words] = word
                self.n_words += 1


def seq2seq_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    F = nn.functional
    optim = torch.optim
    from_data = torch.utils.data
    input_lang, output_lang = Lang("fra"), Lang("eng")
    for fra, eng in PAIRS:
        input_lang.addSentence(fra)
        output_lang.addSentence(eng)

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super(EncoderRNN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super(BahdanauAttention, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super(AttnDecoderRNN, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(
                SOS_token
            )
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    def indexesFromSentence(lang, sentence):
        return [lang.word2index[word] for word in sentence.split(" ")]

    def tensorFromSentence(lang, sentence):
        indexes = indexesFromSentence(lang, sentence)
        indexes.append(EOS_token)
        return torch.tensor(indexes, dtype=torch.long, device=device).view(1, -1)

    def get_dataloader(batch_size):
        n = len(PAIRS)
        input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
        for idx, (inp, tgt) in enumerate(PAIRS):
            inp_ids = indexesFromSentence(input_lang, inp)
            tgt_ids = indexesFromSentence(output_lang, tgt)
            inp_ids.append(EOS_token)
            tgt_ids.append(EOS_token)
            input_ids[idx, : len(inp_ids)] = inp_ids
            target_ids[idx, : len(tgt_ids)] = tgt_ids
        train_data = from_data.TensorDataset(
            torch.LongTensor(input_ids).to(device), torch.LongTensor(target_ids).to(device)
        )
        train_sampler = from_data.SequentialSampler(train_data)
        return from_data.DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)

    def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion):
        total_loss = 0
        for data in dataloader:
            input_tensor, target_tensor = data
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(
                decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1)
            )
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        return total_loss / len(dataloader)

    hidden_size = 16
    train_dataloader = get_dataloader(batch_size=3)
    encoder = EncoderRNN(input_lang.n_words, hidden_size).to(device)
    decoder = AttnDecoderRNN(hidden_size, output_lang.n_words).to(device)
    print(encoder)
    print(decoder)
    fill_parameters(torch, encoder, seed=4, scale=0.2)
    fill_parameters(torch, decoder, seed=5, scale=0.2)
    encoder.eval()
    decoder.eval()
    learning_rate = 0.01
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    for epoch in range(1, 9):
        loss = train_epoch(
            train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion
        )
        if epoch % 2 == 0:
            print("epoch %d loss %.4f" % (epoch, loss))  # noqa: UP031

    def evaluate(encoder, decoder, sentence, input_lang, output_lang):
        with torch.no_grad():
            input_tensor = tensorFromSentence(input_lang, sentence)
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
            _, topi = decoder_outputs.topk(1)
            decoded_ids = topi.squeeze()
            decoded_words = []
            for idx in decoded_ids:
                if idx.item() == EOS_token:
                    decoded_words.append("<EOS>")
                    break
                decoded_words.append(output_lang.index2word[idx.item()])
        return decoded_words, decoder_attn

    for fra, eng in PAIRS[:3]:
        output_words, attentions = evaluate(encoder, decoder, fra, input_lang, output_lang)
        print(">", fra, "=", eng, "<", " ".join(output_words))
    print(attentions.shape, attentions[0, :2])


@pytest.mark.parametrize(
    "program",
    [classification_program, nn_rnn_classification_program, generation_program],
)
def test_char_rnn(program, device, capsys):
    if program is generation_program and device != "cpu":
        pytest.skip("the tutorial's generation code makes its tensors on the CPU")
    assert_same_output(*replay(program, device, capsys))


def test_seq2seq_translation_with_attention(device, capsys):
    assert_same_output(*replay(seq2seq_program, device, capsys), rtol=5e-4, atol=5e-5)


def test_legacy_constructors_as_pytorch(device):
    torch = pytest.importorskip("torch")
    for name in ("Tensor", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"):
        for args in ([[1, 0, 2]], [np.array([1.0, 2.0])], [(3,)], []):
            ours, theirs = getattr(gg, name)(*args), getattr(torch, name)(*args)
            assert ours.dtype.itemsize == theirs.dtype.itemsize
            assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
            assert ours.tolist() == theirs.tolist()
        assert tuple(getattr(gg, name)(2, 3).shape) == (2, 3)
        assert tuple(getattr(gg, name)(gg.Size([4])).shape) == (4,)
    assert isinstance(gg.LongTensor([1]), gg.LongTensor)
    assert not isinstance(gg.LongTensor([1]), gg.FloatTensor)
    assert isinstance(gg.ones(2, device=device), gg.FloatTensor) == (device == "cpu")
    base = gg.ones(2, device=device)
    alias = gg.Tensor(base)
    alias[0] = 5.0
    assert base.tolist() == [5.0, 1.0]
    assert gg.Tensor([1.0], device=device).device.type == device
    for bad in ([[1], [2]], ["a"], [2.5]):
        with pytest.raises(TypeError):
            gg.Tensor(*bad)
        with pytest.raises(TypeError):
            torch.Tensor(*bad)
    with pytest.raises(TypeError):
        gg.LongTensor(gg.ones(2))


@pytest.mark.parametrize(
    "name, args",
    [("unsqueeze_", (-1,)), ("unsqueeze_", (0,)), ("squeeze_", ()), ("squeeze_", (1,)),
     ("t_", ()), ("transpose_", (0, 1)), ("swapaxes_", (1, 0))],
)  # fmt: skip
def test_inplace_view_methods_as_pytorch(name, args, device):
    torch = pytest.importorskip("torch")
    values = np.arange(6.0).reshape(2, 1, 3)[:, 0] if name != "squeeze_" else np.ones((2, 1, 3))
    ours, theirs = gg.tensor(values, device=device), torch.tensor(values)
    ours_view, theirs_view = ours.view(-1), theirs.view(-1)
    assert getattr(ours, name)(*args) is ours
    getattr(theirs, name)(*args)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.tolist() == theirs.tolist()
    ours_view[0] = theirs_view[0] = 7.0  # still the same memory
    assert ours.tolist() == theirs.tolist()
    # in a graph: the tensor becomes the view op's output
    leaf = gg.tensor(values, requires_grad=True, device=device)
    torch_leaf = torch.tensor(values, requires_grad=True)
    y, torch_y = leaf * 2, torch_leaf * 2
    getattr(y, name)(*args)
    getattr(torch_y, name)(*args)
    assert y.grad_fn.name() == torch_y.grad_fn.name()
    weights = np.random.default_rng(0).standard_normal(tuple(torch_y.shape))
    (y * gg.tensor(weights, device=device)).sum().backward()
    (torch_y * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(leaf.grad.cpu().numpy(), torch_leaf.grad.numpy())
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(leaf, name)(*args)
    with gg.no_grad():
        assert tuple(getattr(leaf, name)(*args).shape) == tuple(torch_y.shape)
