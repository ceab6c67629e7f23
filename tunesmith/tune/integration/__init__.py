"""Ray Tune 1.x's ``ray.tune.integration``: ``TuneReportCallback`` and ``TuneReportCheckpointCallback``
for LightGBM, XGBoost, Keras and PyTorch Lightning.

``TuneReportCallback`` is :mod:`tunesmith.integration`'s callback of that framework;
``TuneReportCheckpointCallback`` also saves the model into ``tune.checkpoint_dir(step)``
(file ``filename``) every ``frequency`` rounds/epochs before it reports, so
``analysis.best_checkpoint`` holds the model. Each framework is imported on first use.
"""
