"""Sequence-to-sequence networks (RNN with attention, transformer) and their shared greedy/beam decoding."""
