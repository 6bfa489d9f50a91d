"""Seq2seq networks and decoding: masking, causality, step == forward, beam vs greedy and exhaustive, fit."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from flik_lab.models.contracts import Seq2SeqNetwork
from flik_lab.models.seq2seq.attention import AdditiveAttention, LuongAttention
from flik_lab.models.seq2seq.decoding import beam_search, gnmt_penalty, greedy_decode
from flik_lab.models.seq2seq.rnn import RNNSeq2Seq
from flik_lab.models.seq2seq.transformer import TransformerSeq2Seq

PAD, BOS, EOS = 0, 2, 3
SV, TV = 17, 13  # source and target vocabulary sizes
SOURCE_LENGTHS = [7, 4, 1]
TARGET_LENGTHS = [6, 3, 5]  # BOS y_1 ... EOS, as the batches hold them

NETWORKS = {
    "rnn-lstm-additive": lambda: RNNSeq2Seq(SV, TV, 8, 16, num_layers=2, dropout=0.1),
    "rnn-gru-dot": lambda: RNNSeq2Seq(SV, TV, 8, 16, cell="gru", attention="dot"),
    "rnn-lstm-general": lambda: RNNSeq2Seq(SV, TV, 8, 16, attention="general"),
    "transformer": lambda: TransformerSeq2Seq(SV, TV, 16, 2, 2, 2, 32, dropout=0.1, max_length=64),
    "transformer-each-tied": lambda: TransformerSeq2Seq(
        SV, TV, 16, 2, 1, 2, 32, max_length=64, tie_embeddings=True, attention_layer=0, attention_heads="each"
    ),
}
ids = list(NETWORKS)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def build(name: str) -> torch.nn.Module:
    return NETWORKS[name]().eval()


def sequences(lengths: list[int], width: int, vocab: int, bos: bool = False) -> torch.Tensor:
    """Rows of random real tokens (BOS/EOS framed when `bos`) padded with PAD at the end to `width`."""
    rows = torch.full((len(lengths), width), PAD)
    for i, length in enumerate(lengths):
        rows[i, :length] = torch.randint(4, vocab, (length,))
        if bos:
            rows[i, 0], rows[i, length - 1] = BOS, EOS
    return rows


def batch(extra_source: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    source = sequences(SOURCE_LENGTHS, max(SOURCE_LENGTHS) + extra_source, SV)
    target = sequences(TARGET_LENGTHS, max(TARGET_LENGTHS), TV, bos=True)
    return source, torch.tensor(SOURCE_LENGTHS), target[:, :-1]


def real_positions(lengths: list[int], width: int) -> torch.Tensor:
    return torch.arange(width) < torch.tensor(lengths).unsqueeze(1)


def by_row(attention: torch.Tensor) -> torch.Tensor:
    """`(N, T, S)` or `(N, heads, T, S)` -> `(N, rows, S)`."""
    return attention.reshape(attention.shape[0], -1, attention.shape[-1])


@pytest.mark.parametrize("name", ids)
def test_meets_the_contract_and_shapes(name):
    network = build(name)
    assert isinstance(network, Seq2SeqNetwork)
    assert (network.source_vocab_size, network.target_vocab_size) == (SV, TV)
    source, lengths, target_in = batch()
    logits, attention = network(source, lengths, target_in)
    assert logits.shape == (3, target_in.shape[1], TV)
    heads = (2,) if name.endswith("each-tied") else ()
    assert attention.shape == (3, *heads, target_in.shape[1], source.shape[1])


@pytest.mark.parametrize("name", ids)
def test_extra_source_padding_changes_nothing(name):
    network = build(name)
    source, lengths, target_in = batch()
    real = real_positions(SOURCE_LENGTHS, source.shape[1])
    # garbage (real token ids, not PAD) in the padding, and 5 more garbage columns
    longer = torch.randint(4, SV, (3, source.shape[1] + 5))
    longer[:, : source.shape[1]][real] = source[real]
    with torch.no_grad():
        logits, attention = network(source, lengths, target_in)
        logits_longer, attention_longer = network(longer, lengths, target_in)
    torch.testing.assert_close(logits_longer, logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(attention_longer[..., : source.shape[1]], attention, atol=1e-6, rtol=0)
    padding = ~real_positions(SOURCE_LENGTHS, longer.shape[1])
    assert (by_row(attention_longer).masked_select(padding.unsqueeze(1)) == 0).all()


@pytest.mark.parametrize("name", ids)
def test_later_target_tokens_and_padding_do_not_change_earlier_logits(name):
    network = build(name)
    source, lengths, target_in = batch()
    with torch.no_grad():
        logits, attention = network(source, lengths, target_in)
        for k in range(1, target_in.shape[1]):
            changed = target_in.clone()
            changed[:, k:] = torch.randint(4, TV, changed[:, k:].shape)
            changed = torch.cat([changed, torch.randint(0, TV, (3, 4))], dim=1)  # and 4 columns more
            logits_changed, attention_changed = network(source, lengths, changed)
            torch.testing.assert_close(logits_changed[:, :k], logits[:, :k], atol=1e-5, rtol=0)
            torch.testing.assert_close(
                attention_changed[..., :k, :], attention[..., :k, :], atol=1e-6, rtol=0
            )
            later = logits_changed[:, k : logits.shape[1]]
            assert not torch.allclose(later, logits[:, k:], atol=1e-3)  # later ones do change


@pytest.mark.parametrize("name", ids)
def test_step_by_step_decoding_reproduces_forward(name):
    network = build(name)
    source, lengths, target_in = batch()
    with torch.no_grad():
        logits, attention = network(source, lengths, target_in)
        state = network.start(source, lengths)
        # reorder with the identity and with rows swapped back and forth must change nothing
        state = network.reorder(network.reorder(state, torch.tensor([2, 0, 1])), torch.tensor([1, 2, 0]))
        for t in range(target_in.shape[1]):
            step_logits, state, step_attention = network.step(state, target_in[:, t])
            torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(step_attention, attention[..., t, :], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ids)
def test_attention_sums_to_one_over_real_source_tokens(name):
    network = build(name)
    source, lengths, target_in = batch()
    with torch.no_grad():
        attention = by_row(network(source, lengths, target_in)[1])
    real = real_positions(SOURCE_LENGTHS, source.shape[1]).unsqueeze(1).expand_as(attention)
    assert (attention[~real] == 0).all() and (attention >= 0).all()
    torch.testing.assert_close(attention.sum(dim=-1), torch.ones(attention.shape[:2]))
    found = beam_search(network, source, lengths, 3, 6, BOS, EOS, nbest=2)
    for hypotheses, length in zip(found, SOURCE_LENGTHS, strict=True):
        for hypothesis in hypotheses:  # one row per output token and EOS, over the real source tokens only
            assert hypothesis.attention.shape[0] == len(hypothesis.tokens) + 1
            assert hypothesis.attention.shape[-1] == length
            torch.testing.assert_close(
                hypothesis.attention.sum(dim=-1), torch.ones(hypothesis.attention.shape[:-1])
            )


@pytest.mark.parametrize("name", ids)
def test_beam_one_is_greedy(name):
    network = build(name)
    source, lengths, _ = batch()
    greedy = greedy_decode(network, source, lengths, 8, BOS, EOS)
    beam = beam_search(network, source, lengths, 1, 8, BOS, EOS, length_penalty=0.0)
    for g, (b,) in zip(greedy, beam, strict=True):
        assert b.tokens == g.tokens and EOS not in g.tokens and len(g.tokens) <= 8
        assert b.score == pytest.approx(g.score, abs=1e-6)
        torch.testing.assert_close(b.attention, g.attention)
    for i, g in enumerate(greedy):
        assert g.attention.shape[-1] == SOURCE_LENGTHS[i]
    short = greedy_decode(network, source, lengths, 2, BOS, EOS)
    assert all(len(h.tokens) <= 2 and h.attention.shape[0] == len(h.tokens) + 1 for h in short)


@pytest.mark.parametrize("name", ids)
def test_beam_four_is_sorted_and_beats_greedy(name):
    network = build(name)
    source = sequences([5, 3, 6, 2, 4, 1], 6, SV)
    lengths = torch.tensor([5, 3, 6, 2, 4, 1])
    greedy = greedy_decode(network, source, lengths, 8, BOS, EOS)
    beams = beam_search(network, source, lengths, 4, 8, BOS, EOS, length_penalty=0.0, nbest=3)
    for g, hypotheses in zip(greedy, beams, strict=True):
        scores = [h.score for h in hypotheses]
        assert len(hypotheses) == 3 and scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hypotheses}) == 3
        assert scores[0] >= g.score - 1e-5


def sequence_scores(network, source, length, candidates, alpha):
    """Each candidate's summed log-probs (EOS included) by a teacher-forced forward, / GNMT penalty."""
    width = max(map(len, candidates)) + 1
    target = torch.full((len(candidates), width + 1), PAD)
    for i, tokens in enumerate(candidates):
        target[i, : len(tokens) + 2] = torch.tensor([BOS, *tokens, EOS])
    with torch.no_grad():
        logits = network(source.expand(len(candidates), -1), length.expand(len(candidates)), target[:, :-1])[
            0
        ]
    picked = logits.log_softmax(dim=-1).gather(2, target[:, 1:].unsqueeze(-1)).squeeze(-1)
    # PAD is a word like any other here (the search may emit it): positions past each EOS are dropped
    sums = picked.masked_fill(~real_positions([len(c) + 1 for c in candidates], width), 0.0).sum(dim=1)
    return [s / gnmt_penalty(len(c) + 1, alpha) for s, c in zip(sums.tolist(), candidates, strict=True)]


@pytest.mark.parametrize("name", ["rnn-lstm-additive", "transformer"])
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_wide_beam_finds_the_exhaustive_best(name, alpha):
    vocab = 6  # PAD UNK BOS EOS a b: 1 + 5 + 25 + 125 sequences of at most 3 tokens
    network = (
        RNNSeq2Seq(SV, vocab, 8, 16)
        if name.startswith("rnn")
        else TransformerSeq2Seq(SV, vocab, 16, 2, 1, 1, 32)
    ).eval()
    source, length = torch.randint(4, SV, (1, 4)), torch.tensor([4])
    words = [w for w in range(vocab) if w != EOS]
    candidates = [list(c) for k in range(4) for c in itertools.product(words, repeat=k)]
    exact = sequence_scores(network, source, length, candidates, alpha)
    ranked = sorted(zip(exact, candidates, strict=True), reverse=True)[:5]
    (found,) = beam_search(network, source, length, 6**3, 3, BOS, EOS, length_penalty=alpha, nbest=5)
    assert [h.tokens for h in found] == [c for _, c in ranked]
    assert [h.score for h in found] == pytest.approx([s for s, _ in ranked], abs=1e-4)
    # a narrow beam searches less, never more: its best cannot beat the exhaustive best
    (narrow,) = beam_search(network, source, length, 2, 3, BOS, EOS, length_penalty=alpha)
    assert narrow[0].score <= ranked[0][0] + 1e-5


def train(network, source, lengths, target, steps, shuffle_source=False):
    """Adam on one batch; returns the first and last losses. `shuffle_source`: sources permuted each step."""
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
    network.train()
    losses = []
    for _ in range(steps):
        order = torch.randperm(len(source)) if shuffle_source else torch.arange(len(source))
        logits = network(source[order], lengths[order], target[:, :-1])[0]
        loss = F.cross_entropy(logits.transpose(1, 2), target[:, 1:], ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], losses[-1]


@pytest.mark.parametrize("name", ["rnn", "transformer"])
def test_overfits_eight_pairs_only_by_reading_the_source(name):
    def make():
        torch.manual_seed(1)
        if name == "rnn":
            return RNNSeq2Seq(SV, TV, 16, 32, dropout=0.0)
        return TransformerSeq2Seq(SV, TV, 32, 2, 1, 1, 64, dropout=0.0, max_length=16)

    source_lengths = [5, 3, 6, 4, 2, 6, 5, 3]
    target_lengths = [6, 4, 3, 7, 5, 4, 6, 5]  # lengths differ: greedy must stop each row at its own EOS
    source = sequences(source_lengths, 6, SV)
    target = sequences(target_lengths, 7, TV, bos=True)
    lengths = torch.tensor(source_lengths)
    expected = [target[i, 1 : n - 1].tolist() for i, n in enumerate(target_lengths)]

    def exact_matches(network):
        hypotheses = greedy_decode(network.eval(), source, lengths, 8, BOS, EOS)
        return sum(h.tokens == e for h, e in zip(hypotheses, expected, strict=True))

    network = make()
    first, last = train(network, source, lengths, target, 150)
    assert last < 0.05 * first
    assert exact_matches(network) == 8
    # the same network, trained with each row's source replaced by another row's at random: it cannot tell
    # the rows apart, so it cannot fit them all
    baseline = make()
    train(baseline, source, lengths, target, 150, shuffle_source=True)
    assert exact_matches(baseline) <= 4


def test_scheduled_sampling_feeds_back_the_argmax():
    network = build("rnn-lstm-additive")
    source, lengths, target_in = batch()
    greedy = greedy_decode(network, source, lengths, target_in.shape[1], BOS, EOS)
    with torch.no_grad():
        own = network(source, lengths, target_in, teacher_forcing=0.0)[0].argmax(dim=-1)
        torch.manual_seed(5)
        half = network(source, lengths, target_in, teacher_forcing=0.5)[0]
        torch.manual_seed(5)
        again = network(source, lengths, target_in, teacher_forcing=0.5)[0]
        forced = network(source, lengths, target_in)[0]
    for row, hypothesis in zip(own.tolist(), greedy, strict=True):
        emitted = [*hypothesis.tokens, EOS]
        assert row[: len(emitted)] == emitted[: len(row)]
    torch.testing.assert_close(half, again)  # torch's generator decides: seeding reproduces it
    torch.testing.assert_close(half[:, 0], forced[:, 0])  # the first input is always BOS
    assert not torch.allclose(half, forced)


def test_attention_modules_weigh_only_real_keys():
    keys, mask = torch.randn(2, 5, 6), torch.tensor([[False] * 5, [False] * 2 + [True] * 3])
    query = torch.randn(2, 6)
    for attention in (
        AdditiveAttention(6, 6, 4),
        LuongAttention(6, 6, "dot"),
        LuongAttention(6, 6, "general"),
    ):
        context, weights = attention(query, keys, mask)
        assert (weights[mask] == 0).all()
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
        torch.testing.assert_close(context, torch.einsum("ns,nsd->nd", weights, keys))
        torch.testing.assert_close(attention(query, keys, mask, attention.prepare(keys))[1], weights)
    dot = LuongAttention(6, 6, "dot")(query, keys, mask)[1]
    torch.testing.assert_close(dot[0], (keys[0] @ query[0]).softmax(dim=0))


def test_transformer_options():
    tied = TransformerSeq2Seq(SV, TV, 16, 2, 1, 2, 32, tie_embeddings=True)
    assert tied.output.weight is tied.target_embedding.weight
    source, lengths, target_in = batch()
    first = TransformerSeq2Seq(SV, TV, 16, 2, 1, 2, 32, attention_layer=0).eval()
    last = TransformerSeq2Seq(SV, TV, 16, 2, 1, 2, 32, attention_layer=-1).eval()
    last.load_state_dict(first.state_dict())
    with torch.no_grad():
        logits_first, attention_first = first(source, lengths, target_in)
        logits_last, attention_last = last(source, lengths, target_in)
    torch.testing.assert_close(logits_first, logits_last)
    assert not torch.allclose(attention_first, attention_last)
    with pytest.raises(ValueError, match="max_length=8"):
        TransformerSeq2Seq(SV, TV, 16, 2, 1, 1, 32, max_length=8)(
            torch.ones(1, 9, dtype=torch.long), torch.tensor([9]), target_in[:1]
        )


def test_bad_arguments_are_named_with_the_choices():
    with pytest.raises(ValueError, match=r"cell='rnn'; expected one of \('lstm', 'gru'\)"):
        RNNSeq2Seq(SV, TV, cell="rnn")
    with pytest.raises(
        ValueError, match=r"attention='bahdanau'; expected one of \('additive', 'dot', 'general'\)"
    ):
        RNNSeq2Seq(SV, TV, attention="bahdanau")
    with pytest.raises(ValueError, match=r"attention_heads='max'; expected one of \('mean', 'each'\)"):
        TransformerSeq2Seq(SV, TV, attention_heads="max")
    with pytest.raises(ValueError, match="attention_layer=3"):
        TransformerSeq2Seq(SV, TV, num_decoder_layers=3, attention_layer=3)
    with pytest.raises(ValueError, match="kind='concat'"):
        LuongAttention(4, 4, "concat")
    with pytest.raises(ValueError, match="kind='dot' needs query_dim == key_dim"):
        LuongAttention(4, 5, "dot")
    source, lengths, target_in = batch()
    with pytest.raises(ValueError, match="teacher_forcing=0.5.*RNNSeq2Seq"):
        TransformerSeq2Seq(SV, TV, 16, 2, 1, 1, 32)(source, lengths, target_in, teacher_forcing=0.5)
    with pytest.raises(ValueError, match="teacher_forcing=1.5"):
        RNNSeq2Seq(SV, TV, 8, 16)(source, lengths, target_in, teacher_forcing=1.5)
    network = build("rnn-gru-dot")
    with pytest.raises(ValueError, match="nbest=3"):
        beam_search(network, source, lengths, 2, 5, BOS, EOS, nbest=3)
    with pytest.raises(ValueError, match="length_penalty=-1"):
        beam_search(network, source, lengths, 2, 5, BOS, EOS, length_penalty=-1)
