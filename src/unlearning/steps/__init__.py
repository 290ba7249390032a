"""One function per pipeline step. Workflow scripts only unpack the ``snakemake`` object and
call these, so every step can also be run and tested from plain Python. A step is named like
its rule and its script (``evaluate`` and ``train`` serve more than one rule).

A script imports its step from its module (``from unlearning.steps.unlearn import unlearn``),
and the modules are split by step and by what they import, so a job that writes a table does not
pay for importing torch:

- :mod:`.files`: reading split and run records (no torch);
- :mod:`.data`: ``prepare_data``, ``make_split`` (no torch);
- :mod:`.train`: ``train``, ``import_original`` (torch);
- :mod:`.unlearn`: ``unlearn`` and its ``MethodSetting`` (torch);
- :mod:`.evaluate`: ``evaluate`` and its ``Evaluation`` request, and ``evaluate_model``, which
  the train and unlearn steps call on the model they save (torch; scikit-learn when it runs);
- :mod:`.runs`: what the steps that make a model share, the clock of their work and the
  environment their run record names (torch);
- :mod:`.embed_models`: ``embed_models`` (torch);
- :mod:`.verify`: ``verify_checkpoints`` (torch when it runs);
- :mod:`.report`: ``aggregate_metrics``, ``summary_tables``, ``dataset_figures``,
  ``reproduction`` (no torch).

The steps mark the end of each phase of their work (:mod:`unlearning.phases`) for the benchmark.
"""
