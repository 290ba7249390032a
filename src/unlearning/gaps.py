"""Which accuracies every distance to the retrain references is taken over (torch-free, so the
metrics of a job and the tables built from ``metrics.csv`` name the same subsets)."""

#: ``gap_<subset>`` = |acc − mean reference acc| per subset; ``gap_mean`` averages them.
GAP_SUBSETS = ("train_forget", "train_remain", "test", "test_forget", "test_remain")

#: The accuracies of the tug-of-war score (Zhao et al. 2024, RUM): forget, remain and test.
TOW_KEYS = ("acc_forget", "acc_remain", "acc_test")
