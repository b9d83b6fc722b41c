// Tokenization module: see the README for its role in the pipeline.
