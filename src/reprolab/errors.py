"""One family of errors, each saying what failed, where, and what to do."""


class ReproLabError(Exception):
    """Base class of every error reprolab raises on purpose."""


class ConfigError(ReproLabError):
    """The configuration names something that does not exist or does not fit."""


class DataError(ReproLabError):
    """A dataset is missing, corrupt, or cannot be fetched."""


class TrainingError(ReproLabError):
    """Training cannot go on (for instance the loss became NaN or infinite)."""


class ReportError(ReproLabError):
    """A result or figure the report needs is missing or unreadable."""
