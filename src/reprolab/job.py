"""What every Snakemake entry script shares: logging to the rule's log, thread count, errors."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from reprolab.errors import ReproLabError


def reproducible_threads(snakemake) -> int:
    """Fix torch's CPU threads to the configured count, and ask for deterministic kernels on CPU.

    The reduction order of CPU kernels depends on the thread count, so results do too. Snakemake
    lowers a job's `threads` to `--cores` when that is smaller; a job that passes its configured
    count as `params.threads` keeps it, so the same commit on the same machine gives the same
    numbers whatever `--cores` a run was given.
    """
    import torch

    threads = max(1, int(snakemake.params.get("threads", snakemake.threads)))
    torch.set_num_threads(threads)
    if not torch.cuda.is_available():
        if "torch._inductor.config" in sys.modules:
            torch.use_deterministic_algorithms(True, warn_only=True)
        else:
            # The public call imports torch._inductor and torch._dynamo (~0.5 s) to set inductor's
            # flag too; set it by the variable inductor reads when a job compiles (`compile: true`).
            os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
            torch._C._set_deterministic_algorithms(True, warn_only=True)
    return threads


@contextlib.contextmanager
def job(snakemake, uses_torch: bool = True) -> Iterator[None]:
    """Send the job's output to its `log:` file; show reprolab errors on the terminal too.

    `uses_torch=False`: the job runs no torch (downloads, fixtures, seed aggregation, the report), so
    torch is not imported (~1.5 s) to set its threads.
    """
    terminal = sys.__stderr__
    log_path = snakemake.log[0] if snakemake.log else None
    stream = open(log_path, "w", buffering=1) if log_path else sys.stderr  # noqa: SIM115
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if uses_torch:
            reproducible_threads(snakemake)
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            yield
    except ReproLabError as e:
        logging.getLogger("reprolab").error("%s", e)
        print(f"reprolab: {e}", file=terminal)
        raise SystemExit(1) from None
    except Exception as e:
        logging.getLogger("reprolab").exception("job failed")
        if type(e).__name__ == "OutOfMemoryError":  # torch.cuda's, raised by any job on the GPU
            print(f"reprolab: the GPU ran out of memory in {log_path or 'this job'}: lower the batch size "
                  "of what it runs, run one GPU job at a time (--resources gpu=1), or free the GPU memory "
                  "other processes hold (nvidia-smi)", file=terminal)
        raise
    finally:
        if stream is not sys.stderr:
            stream.close()
