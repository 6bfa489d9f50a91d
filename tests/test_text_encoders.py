"""Sequence encoders: shapes, teaching RNN == nn.RNN, padding never changes features or weights, gradients."""

import pytest
import torch

from flik_lab.models.text import (
    AttentionEncoder,
    BiLSTMEncoder,
    LSTMEncoder,
    RNNEncoder,
    TransformerEncoder,
    VanillaRNNCell,
    copy_cells_to_rnn,
    reverse_within_lengths,
)

E, H, T = 8, 12, 10
LENGTHS = [10, 6, 3]

# id -> (factory, out_dim, returns weights)
ENCODERS = {
    "rnn-teaching-1": (lambda: RNNEncoder(E, H, 1, 0.1, "teaching"), H, False),
    "rnn-teaching-2": (lambda: RNNEncoder(E, H, 2, 0.1, "teaching"), H, False),
    "rnn-cudnn-1": (lambda: RNNEncoder(E, H, 1, 0.1, "cudnn"), H, False),
    "rnn-cudnn-2": (lambda: RNNEncoder(E, H, 2, 0.1, "cudnn"), H, False),
    "lstm-1": (lambda: LSTMEncoder(E, H, 1), H, False),
    "lstm-2": (lambda: LSTMEncoder(E, H, 2, 0.1), H, False),
    "bilstm-add": (lambda: BiLSTMEncoder(E, H, 2, 0.1, merge="add"), H, False),
    "bilstm-concat": (lambda: BiLSTMEncoder(E, H, 1, merge="concat"), 2 * H, False),
    "attention-add": (lambda: AttentionEncoder(E, H, 2, 0.1, attention_dim=5), H, True),
    "attention-concat": (lambda: AttentionEncoder(E, H, merge="concat"), 2 * H, True),
    "transformer-cls": (lambda: TransformerEncoder(E, 2, 2, 16, 0.1, pooling="cls"), E, True),
    "transformer-mean": (lambda: TransformerEncoder(E, 2, 2, 16, 0.1, pooling="mean"), E, True),
    "transformer-conv": (lambda: TransformerEncoder(E, 2, 2, 16, 0.1, conv_kernel=3), E, True),
}
ids = list(ENCODERS)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_batch(t: int = T) -> tuple[torch.Tensor, torch.Tensor]:
    """Embedded batch whose padding positions hold large random garbage, not zeros."""
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(len(LENGTHS), t, E)
    pad = torch.arange(t) >= lengths.unsqueeze(1)
    x[pad] = 10 * torch.randn(int(pad.sum()), E)
    return x, lengths


def build(name: str, train: bool = False):
    encoder = ENCODERS[name][0]()
    return encoder.train(train)


@pytest.mark.parametrize("name", ids)
def test_shapes_and_out_dim(name):
    _, out_dim, has_weights = ENCODERS[name]
    encoder = build(name)
    x, lengths = make_batch()
    features, weights = encoder(x, lengths)
    assert encoder.out_dim == out_dim
    assert features.shape == (len(LENGTHS), out_dim)
    if has_weights:
        assert weights.shape == (len(LENGTHS), T)
    else:
        assert weights is None


@pytest.mark.parametrize("name", ids)
def test_padding_invariance(name):
    encoder = build(name)
    x, lengths = make_batch()
    # new garbage in the existing padding, and 7 more garbage columns appended
    longer, _ = make_batch(T + 7)
    longer[:, :T][torch.arange(T) < lengths.unsqueeze(1)] = x[torch.arange(T) < lengths.unsqueeze(1)]
    with torch.no_grad():
        features, weights = encoder(x, lengths)
        features_longer, weights_longer = encoder(longer, lengths)
    torch.testing.assert_close(features_longer, features, atol=1e-5, rtol=0)
    if weights is None:
        return
    real = torch.arange(T) < lengths.unsqueeze(1)
    torch.testing.assert_close(weights_longer[:, :T][real], weights[real], atol=1e-5, rtol=0)
    for w, t in ((weights, T), (weights_longer, T + 7)):
        assert (w[torch.arange(t) >= lengths.unsqueeze(1)] == 0).all()
        torch.testing.assert_close(w.sum(dim=1), torch.ones(len(LENGTHS)))
        assert (w >= 0).all()


@pytest.mark.parametrize("name", ids)
def test_each_row_alone_matches_the_batch(name):
    encoder = build(name)
    x, lengths = make_batch()
    with torch.no_grad():
        features, weights = encoder(x, lengths)
        for i, length in enumerate(LENGTHS):
            alone, alone_weights = encoder(x[i : i + 1, :length], lengths[i : i + 1])
            torch.testing.assert_close(alone[0], features[i], atol=1e-5, rtol=0)
            if weights is not None:
                torch.testing.assert_close(alone_weights[0], weights[i, :length], atol=1e-5, rtol=0)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_teaching_rnn_equals_nn_rnn_with_copied_weights(num_layers):
    teaching = RNNEncoder(E, H, num_layers, implementation="teaching").eval()
    cudnn = RNNEncoder(E, H, num_layers, implementation="cudnn").eval()
    x, lengths = make_batch()
    with torch.no_grad():
        assert not torch.allclose(teaching.sequence(x, lengths), cudnn.sequence(x, lengths), atol=1e-3)
        copy_cells_to_rnn(teaching.cells, cudnn.rnn)
        torch.testing.assert_close(
            teaching.sequence(x, lengths), cudnn.sequence(x, lengths), atol=1e-5, rtol=0
        )
        torch.testing.assert_close(teaching(x, lengths)[0], cudnn(x, lengths)[0], atol=1e-5, rtol=0)
        assert (cudnn.rnn.bias_hh_l0 == 0).all()


def test_teaching_cell_is_one_linear_over_the_concatenation():
    cell = VanillaRNNCell(E, H)
    assert [type(m).__name__ for m in cell.children()] == ["Linear"]
    assert cell.linear.weight.shape == (H, H + E)
    x, h = torch.randn(3, E), torch.randn(3, H)
    w_hh, w_xh = cell.linear.weight[:, :H], cell.linear.weight[:, H:]
    expected = torch.tanh(h @ w_hh.T + x @ w_xh.T + cell.linear.bias)
    torch.testing.assert_close(cell(x, h), expected)


def test_features_are_taken_at_the_last_real_token():
    encoder = RNNEncoder(E, H, implementation="teaching").eval()
    x, lengths = make_batch()
    with torch.no_grad():
        states = encoder.sequence(x, lengths)
        features = encoder(x, lengths)[0]
    torch.testing.assert_close(features, states[torch.arange(3), lengths - 1])
    assert not torch.allclose(features[1], states[1, -1])


def test_bilstm_backward_direction_does_not_read_padding():
    encoder = BiLSTMEncoder(E, H, merge="concat").eval()
    x, lengths = make_batch()
    with torch.no_grad():
        states = encoder.sequence(x, lengths)
        features = encoder(x, lengths)[0]
        for i, length in enumerate(LENGTHS):
            row = x[i : i + 1, :length]
            backward = encoder.backward_lstm(row.flip(1))[0].flip(1)[0]
            forward = encoder.forward_lstm(row)[0][0]
            torch.testing.assert_close(states[i, :length, H:], backward, atol=1e-5, rtol=0)
            torch.testing.assert_close(states[i, :length, :H], forward, atol=1e-5, rtol=0)
            # forward at the last real token, backward at position 0 (it has read the whole row)
            torch.testing.assert_close(features[i], torch.cat([forward[-1], backward[0]]), atol=1e-5, rtol=0)


def test_bilstm_add_is_the_sum_of_the_directions():
    concat = BiLSTMEncoder(E, H, merge="concat").eval()
    add = BiLSTMEncoder(E, H, merge="add").eval()
    add.load_state_dict(concat.state_dict())
    x, lengths = make_batch()
    with torch.no_grad():
        both = concat(x, lengths)[0]
        torch.testing.assert_close(add(x, lengths)[0], both[:, :H] + both[:, H:])


def test_reverse_within_lengths():
    x, lengths = make_batch()
    reversed_ = reverse_within_lengths(x, lengths)
    assert torch.equal(reverse_within_lengths(reversed_, lengths), x)
    pad = torch.arange(T) >= lengths.unsqueeze(1)
    assert torch.equal(reversed_[pad], x[pad])
    for i, length in enumerate(LENGTHS):
        assert torch.equal(reversed_[i, :length], x[i, :length].flip(0))
    tokens = torch.arange(12).view(3, 4)  # also works without a feature dimension
    assert reverse_within_lengths(tokens, torch.tensor([4, 2, 1])).tolist() == [
        [3, 2, 1, 0],
        [5, 4, 6, 7],
        [8, 9, 10, 11],
    ]


@pytest.mark.parametrize("name", ids)
def test_gradients_flow(name):
    encoder = build(name, train=True)
    x, lengths = make_batch()
    x.requires_grad_(True)
    features, weights = encoder(x, lengths)
    loss = features.pow(2).sum()
    if weights is not None:
        loss = loss + (weights * torch.randn_like(weights)).sum()
    loss.backward()
    for param_name, param in encoder.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
    assert sum(p.grad.abs().sum() for p in encoder.parameters()) > 0
    assert torch.isfinite(x.grad).all()


def test_unknown_options_are_named():
    with pytest.raises(ValueError, match="implementation='gru'"):
        RNNEncoder(E, H, implementation="gru")
    with pytest.raises(ValueError, match="merge='mul'"):
        BiLSTMEncoder(E, H, merge="mul")
    with pytest.raises(ValueError, match="pooling='max'"):
        TransformerEncoder(E, 2, pooling="max")
    with pytest.raises(ValueError, match="max_len=10"):
        TransformerEncoder(E, 2, max_len=10)(torch.randn(1, 10, E), torch.tensor([10]))
    with pytest.raises(ValueError, match="conv_kernel=2"):
        TransformerEncoder(E, 2, conv_kernel=2)


@pytest.mark.parametrize("name", ["rnn", "lstm", "bilstm", "attention", "transformer"])
def test_every_shipped_encoder_meets_the_sequence_encoder_contract(name, tmp_path):
    from hydra.utils import instantiate

    from flik_lab.models.contracts import SequenceEncoder

    from .helpers.config import compose_config

    cfg = compose_config("train", tmp_path, [f"experiment=imdb_{name}"])
    encoder = instantiate(cfg.model.encoder)
    assert isinstance(encoder, SequenceEncoder)


def test_a_module_without_the_contract_is_refused_naming_the_key(tmp_path):
    from flik_lab.training import train
    from flik_lab.utils.config_schema import ConfigError

    from .helpers.config import compose_config

    overrides = ["experiment=imdb_lstm", "model.encoder._target_=torch.nn.Identity"]  # no out_dim
    with pytest.raises(ConfigError, match="'model.encoder': encoder='Identity': expected a SequenceEncoder"):
        train(compose_config("train", tmp_path, overrides))
