"""The tasks the runner trains, by name (variant key `task`, options under `task_options`)."""

from __future__ import annotations

import inspect

from torch import nn

from reprolab.engine.task import Task
from reprolab.engine.tasks.adversarial import AdversarialTask
from reprolab.engine.tasks.classification import ClassificationTask
from reprolab.engine.tasks.language_model import LanguageModelTask
from reprolab.engine.tasks.masked_sequence import MaskedSequenceTask
from reprolab.errors import ConfigError

TASKS: dict[str, type[Task]] = {"classification": ClassificationTask, "language_model": LanguageModelTask,
                                "masked_sequence": MaskedSequenceTask, "adversarial": AdversarialTask}


def make_task(name: str, model: nn.Module, optimizer: dict, scheduler: dict | None = None,
              **options) -> Task:
    """The task `name` over `model`; a clear error for unknown names or options."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    try:
        inspect.signature(TASKS[name]).bind(model, optimizer, scheduler, **options)
    except TypeError as e:
        raise ConfigError(f"task {name!r} does not accept options {options}: {e}") from None
    return TASKS[name](model, optimizer, scheduler, **options)
