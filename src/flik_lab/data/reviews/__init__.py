"""Movie reviews for `data=imdb`: the IMDB readers, the word tokenizer, batches, synthetic reviews."""
