"""Parallel text for `data=translation`: numbers corpus, TSV and hub readers, subword tokenizers, batches."""
