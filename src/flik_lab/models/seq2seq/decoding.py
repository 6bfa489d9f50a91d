"""Greedy and beam-search decoding, batched over sentences, for any network with `start`/`step`/`reorder`."""

from dataclasses import dataclass

import torch

from flik_lab.utils.errors import InputError


@dataclass
class Hypothesis:
    """A translation: ids without BOS/EOS, its score, and the attention of each output step (EOS's last)
    over the sentence's real source tokens, `(len(tokens) + 1, S)` (or `(len(tokens) + 1, heads, S)`)."""

    tokens: list[int]
    score: float
    attention: torch.Tensor


def gnmt_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty ((5 + |Y|) / 6)^alpha, |Y| counting EOS; alpha = 0: summed log-probs as is."""
    return ((5 + length) / 6) ** alpha


def _hypothesis(tokens: list[int], eos_id: int, score: float, attention: torch.Tensor, length: int):
    end = tokens.index(eos_id) if eos_id in tokens else len(tokens)
    return Hypothesis(tokens[:end], score, attention[: end + 1, ..., :length])


@torch.no_grad()
def greedy_decode(
    network, source: torch.Tensor, source_lengths: torch.Tensor, max_length: int, bos_id: int, eos_id: int
) -> list[Hypothesis]:
    """The argmax token at each step until EOS, per sentence; at most `max_length` tokens before EOS (a row
    still running then is ended with EOS). Scores are summed log-probs, EOS included. Call in eval mode."""
    n = source.shape[0]
    state = network.start(source, source_lengths)
    tokens = source.new_full((n,), bos_id)
    scores = torch.zeros(n, device=source.device)
    running = torch.ones(n, dtype=torch.bool, device=source.device)
    outputs, attentions = [], []
    for t in range(max_length + 1):
        logits, state, attention = network.step(state, tokens)
        log_probs = logits.float().log_softmax(dim=-1)
        tokens = log_probs.argmax(dim=-1) if t < max_length else torch.full_like(tokens, eos_id)
        scores += torch.where(running, log_probs.gather(1, tokens.unsqueeze(1)).squeeze(1), 0.0)
        outputs.append(tokens)
        attentions.append(attention)
        running &= tokens != eos_id
        if not running.any():
            break
    outputs, attentions = torch.stack(outputs, dim=1).tolist(), torch.stack(attentions, dim=1).cpu()
    return [
        _hypothesis(outputs[i], eos_id, score, attentions[i], length)
        for i, (score, length) in enumerate(zip(scores.tolist(), source_lengths.tolist(), strict=True))
    ]


@torch.no_grad()
def beam_search(
    network,
    source: torch.Tensor,
    source_lengths: torch.Tensor,
    beam_size: int,
    max_length: int,
    bos_id: int,
    eos_id: int,
    length_penalty: float = 1.0,
    nbest: int = 1,
) -> list[list[Hypothesis]]:
    """The `nbest` best hypotheses per sentence, best first; score = summed log-probs / GNMT penalty.
    N * beam_size rows advance together; a sentence is done once it has `beam_size` finished hypotheses
    that no live one can beat. `max_length` as in `greedy_decode`. Call in eval mode."""
    if beam_size < 1 or not 1 <= nbest <= beam_size:
        raise InputError(f"beam_size={beam_size}, nbest={nbest}; expected 1 <= nbest <= beam_size")
    if length_penalty < 0:
        raise InputError(f"length_penalty={length_penalty}; expected >= 0 (0: none)")
    n, beams, device = source.shape[0], beam_size, source.device
    lengths = source_lengths.tolist()
    first_row = torch.arange(n, device=device).unsqueeze(1) * beams  # (n, 1): row of each sentence's beam 0
    sentence_rows = torch.arange(n, device=device).repeat_interleave(beams)
    state = network.reorder(network.start(source, source_lengths), sentence_rows)
    scores = torch.full((n, beams), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start equal: only the first one is expanded
    tokens = source.new_full((n * beams,), bos_id)
    history = source.new_empty((n * beams, 0))
    attention_history = None
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    done = [False] * n
    # a live hypothesis's summed log-prob can only fall; the penalty is largest at the longest length
    best_divisor = gnmt_penalty(max_length + 1, length_penalty)
    for t in range(max_length + 1):
        logits, state, attention = network.step(state, tokens)
        log_probs = logits.float().log_softmax(dim=-1)
        if t == max_length:  # the last step may only end hypotheses
            only_eos = torch.full_like(log_probs, float("-inf"))
            only_eos[:, eos_id] = log_probs[:, eos_id]
            log_probs = only_eos
        vocab = log_probs.shape[-1]
        candidates = (scores.view(-1, 1) + log_probs).view(n, beams * vocab)
        top_scores, top_index = candidates.topk(min(2 * beams, beams * vocab), dim=1)
        rows, words = first_row + top_index // vocab, top_index % vocab
        step_attention = attention.unsqueeze(1)
        attention_history = (
            step_attention if attention_history is None else torch.cat([attention_history, step_attention], 1)
        )

        # EOS among the best `beams` candidates ends a hypothesis (so beam 1 is greedy)
        ends = (words == eos_id) & top_scores.isfinite()
        ends[:, beams:] = False
        ending = [(i, j) for i, j in ends.nonzero().tolist() if not done[i]]
        if ending:
            picked = rows[tuple(torch.tensor(ending, device=device).T)]
            ended_tokens, ended_attention = history[picked].tolist(), attention_history[picked].cpu()
            for k, (i, j) in enumerate(ending):
                score = top_scores[i, j].item() / gnmt_penalty(len(ended_tokens[k]) + 1, length_penalty)
                finished[i].append(Hypothesis(ended_tokens[k], score, ended_attention[k, ..., : lengths[i]]))

        # the best `beams` candidates that do not end live on
        position = torch.arange(top_index.shape[1], device=device).expand_as(words)
        keep = torch.where(words == eos_id, position + top_index.shape[1], position).argsort(dim=1)[:, :beams]
        scores, words = top_scores.gather(1, keep), words.gather(1, keep)
        index = rows.gather(1, keep).flatten()
        history = torch.cat([history[index], words.view(-1, 1)], dim=1)
        attention_history = attention_history[index]
        state = network.reorder(state, index)
        tokens = words.flatten()

        bounds = (scores.max(dim=1).values / best_divisor).tolist()
        for i in range(n):
            kept = sorted((h.score for h in finished[i]), reverse=True)[:beams]
            done[i] = done[i] or (len(kept) == beams and kept[-1] >= bounds[i])
        if all(done):
            break
    return [sorted(found, key=lambda h: h.score, reverse=True)[:nbest] for found in finished]
