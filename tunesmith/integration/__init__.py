"""Bridges to the libraries training code already uses: experiment trackers and training frameworks.

Each module imports its library only when used, so ``import tunesmith.integration`` stays light:

- :mod:`tunesmith.integration.trackers`: ``WandbLogger``, ``MLflowLogger``, ``TensorBoardLogger``,
  ``CSVLogger``, ``JSONLogger`` for ``loggers=[...]``, and ``setup_wandb``/``setup_mlflow`` inside a trainable.
- :mod:`tunesmith.integration.keras`: a Keras callback that reports each epoch and stops pruned trials.
- :mod:`tunesmith.integration.lightning`: the PyTorch Lightning callback.
- :mod:`tunesmith.integration.xgboost`, :mod:`tunesmith.integration.lightgbm`: boosting-round callbacks.
"""
