"""Text data for `data=imdb`: readers of the IMDB layouts, the tokenizer, batching, synthetic reviews."""
