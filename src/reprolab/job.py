"""What every Snakemake entry script shares: logging to the rule's log, thread count, errors."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from reprolab.errors import ReproLabError


@contextlib.contextmanager
def job(snakemake) -> Iterator[None]:
    """Send the job's output to its `log:` file; show reprolab errors on the terminal too."""
    terminal = sys.__stderr__
    log_path = snakemake.log[0] if snakemake.log else None
    stream = open(log_path, "w", buffering=1) if log_path else sys.stderr  # noqa: SIM115
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import torch

        torch.set_num_threads(max(1, int(snakemake.threads)))
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    except ReproLabError as e:
        logging.getLogger("reprolab").error("%s", e)
        print(f"reprolab: {e}", file=terminal)
        raise SystemExit(1) from None
    except Exception:
        logging.getLogger("reprolab").exception("job failed")
        raise
    finally:
        if stream is not sys.stderr:
            stream.close()
