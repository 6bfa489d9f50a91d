"""Sequence encoders of the course: embedded tokens `(N, T, E)` + lengths -> features, weights."""

from flik_lab.models.text.attention import AttentionEncoder
from flik_lab.models.text.bilstm import BiLSTMEncoder, reverse_within_lengths
from flik_lab.models.text.lstm import LSTMEncoder
from flik_lab.models.text.rnn import RNNEncoder, VanillaRNNCell, copy_cells_to_rnn
from flik_lab.models.text.transformer import TransformerEncoder

__all__ = [
    "AttentionEncoder",
    "BiLSTMEncoder",
    "LSTMEncoder",
    "RNNEncoder",
    "TransformerEncoder",
    "VanillaRNNCell",
    "copy_cells_to_rnn",
    "reverse_within_lengths",
]
