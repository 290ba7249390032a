"""``python -m unlearning.bench``: the project's hot loops side by side with bare PyTorch loops,
a job's fixed cost and the workflow's planning time, written to JSON and a Markdown table.

Ratios against a bare loop on the same machine are the figures to quote: absolute times move
with the machine and its load, the ratios much less.
"""
