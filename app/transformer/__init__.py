"""Inside the Transformer: self-attention step by step, four families at one depth, DINO's features."""
