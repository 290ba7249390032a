"""The per-example membership audit of unlearning (U-LiRA; docs/audit.md).

Shadow and target splits of a dataset's training partition share one fixed forget set; on each
split an original, a retrain without the forget set, a second retrain with other seeds and every
audited method's unlearned model are trained (each its own cached job), and the logit-scaled
confidence of every forget example is recorded. The attack fits, per forget example, a Gaussian
to those confidences under "unlearned" and under "retrained" across the shadow splits, and scores
the target splits' models with the likelihood ratio.

- :mod:`.ulira`: the statistics (numpy only);
- :mod:`.splits`: the forget set, the splits and the models' seeds (numpy only);
- :mod:`.check`: the ``audit:`` block's checks, run while the workflow plans;
- :mod:`.models`: the audit's training and unlearning jobs (the only module that imports torch);
- :mod:`.report`: the table and the ROC figure.
"""
