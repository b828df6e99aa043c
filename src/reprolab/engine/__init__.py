"""The training engine: an epoch runner and the tasks it trains (`reprolab.engine.tasks`)."""

from reprolab.engine.data import Normalizer, Split, fit_normalizer, load_normalizer, normalizer_state
from reprolab.engine.device import select_device
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.runner import FitResult, TrainConfig, run_epochs
from reprolab.engine.task import Task
from reprolab.engine.tasks import make_task
from reprolab.engine.tasks.classification import confusion_matrix, fit

__all__ = ["FitResult", "Normalizer", "Split", "Task", "TrainConfig", "confusion_matrix", "fit",
           "fit_normalizer", "load_normalizer", "make_optimizer", "make_scheduler", "make_task",
           "normalizer_state", "run_epochs", "select_device"]
