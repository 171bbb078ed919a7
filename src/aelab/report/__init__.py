"""The evaluation report of a checkpoint: analyses AE vs PCA, PNG figures, report.md and metrics.json."""
