"""Sentence pairs for `data=translation`: numbers, TSV and hub readers, subword tokenizers, batches."""
