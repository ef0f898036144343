"""gpugrad's layers, containers and losses (``gpugrad.nn.Linear`` …)."""

from .activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    SiLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding, EmbeddingBag
from .transformer import MultiheadAttention, TransformerEncoderLayer
from .transformer_stack import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
)

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Bilinear",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "ELU",
    "Embedding",
    "EmbeddingBag",
    "Flatten",
    "GELU",
    "GRU",
    "GRUCell",
    "GroupNorm",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LSTM",
    "LSTMCell",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "NLLLoss",
    "ParameterDict",
    "ParameterList",
    "RMSNorm",
    "RNN",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Sequential",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Tanh",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "Unflatten",
]

# --- s7-nnloss: the rest of the losses, distances, adaptive softmax ---
from .adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .loss import (  # noqa: E402
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss2d,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)

__all__ += [
    "AdaptiveLogSoftmaxWithLoss",
    "CTCLoss",
    "CosineSimilarity",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss2d",
    "PairwiseDistance",
    "PoissonNLLLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]

# --- s7-nnpool: n-d convolution, pooling, normalization and lazy layers ---
from . import conv as _conv  # noqa: E402
from . import lazy as _lazy  # noqa: E402
from . import normalization as _normalization  # noqa: E402
from . import pooling as _pooling  # noqa: E402
from .conv import *  # noqa: E402, F403
from .lazy import *  # noqa: E402, F403
from .normalization import *  # noqa: E402, F403
from .pooling import *  # noqa: E402, F403

_ours = (*_conv.__all__, *_lazy.__all__, *_normalization.__all__, *_pooling.__all__)
__all__ = sorted({*__all__, *_ours})
del _conv, _lazy, _normalization, _pooling, _ours
# --- s7-nnact: activations, dropouts, padding, shuffles, upsampling, fold, distances ---
from . import activation as _activation  # noqa: E402
from . import distance as _distance  # noqa: E402
from . import dropout as _dropout  # noqa: E402
from . import fold as _fold  # noqa: E402
from . import padding as _padding  # noqa: E402
from . import pixelshuffle as _pixelshuffle  # noqa: E402
from . import upsampling as _upsampling  # noqa: E402
from .activation import *  # noqa: E402,F403
from .distance import *  # noqa: E402,F403
from .dropout import *  # noqa: E402,F403
from .fold import *  # noqa: E402,F403
from .padding import *  # noqa: E402,F403
from .pixelshuffle import *  # noqa: E402,F403
from .upsampling import *  # noqa: E402,F403

__all__ += sorted(
    {
        name
        for module in (
            _activation,
            _distance,
            _dropout,
            _fold,
            _padding,
            _pixelshuffle,
            _upsampling,
        )
        for name in module.__all__
    }
    - set(__all__)
)
