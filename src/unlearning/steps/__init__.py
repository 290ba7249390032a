"""One function per pipeline step. Workflow scripts only unpack the ``snakemake`` object and
call these, so every step can also be run and tested from plain Python. A step is named like
its rule and its script (``evaluate`` and ``train`` serve more than one rule).

Steps live in modules by what they import, and a script imports its step from its module
(``from unlearning.steps.models import unlearn``), so a job that writes a table does not pay for
importing torch:

- :mod:`.files`: reading split and run records (no torch);
- :mod:`.data`: ``prepare_data``, ``make_split`` (no torch);
- :mod:`.models`: ``train``, ``import_original``, ``unlearn``, ``evaluate`` and its
  ``Evaluation``, ``embed_models``, ``verify_checkpoints`` (torch);
- :mod:`.report`: ``aggregate_metrics``, ``summary_tables``, ``dataset_figures``,
  ``reproduction`` (no torch).
"""
