"""Dataset preparation, in-memory image sets and forget-condition splits."""
