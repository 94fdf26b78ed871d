"""Training OM-Net on a local dataset (``omnet train``): the paper's curriculum, online data
transfer and cross-task guided attention, resumable and observable.

Modules: ``config`` (settings, presets), ``options`` (CLI from the settings), ``schedule``
(stages, learning rate), ``sampling`` / ``patches`` / ``transfer`` (batches), ``cache`` /
``dataset`` / ``split`` (data), ``trainer`` (the loop), ``checkpoint``, ``validation``,
``monitor`` / ``plots`` (logging), ``distributed``, ``export`` and ``run`` (a whole run).
Importing this package does not import torch.
"""

from omnet.training.config import PRESETS, TrainConfig, preset_config

__all__ = ["PRESETS", "TrainConfig", "preset_config"]
