"""reprolab: re-run every experiment of the classic deep-learning courses and report them."""

__version__ = "0.1.0"
