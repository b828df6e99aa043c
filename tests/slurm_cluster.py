"""A throw-away single-node Slurm cluster (Debian's `slurm-wlm`) for the integration test.

The daemons run in the foreground as children of the test, with all their state in a temporary
folder, and are stopped by PID. The config must be at /etc/slurm/slurm.conf (the job step plugin
ignores SLURM_CONF inside jobs); an existing file not written by this helper is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by reprolab tests/slurm_cluster.py"
DAEMONS = ["slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol"]


def unavailable() -> str | None:
    """Why no test cluster can be started here, or None when it can."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return f"Slurm is not installed (no {', '.join(missing)}); apt-get install slurm-wlm (.ci/run does)"
    if os.geteuid() != 0:
        return "starting slurmd and writing /etc/slurm/slurm.conf need root"
    if CONF.exists() and MARKER not in CONF.read_text():
        return f"{CONF} belongs to a real Slurm installation; not replacing it"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(state: Path, node: str) -> str:
    """One node with this machine's CPUs and memory (up to 4 jobs share a core, so a DAG level
    runs at once), one default partition, no accounting."""
    cpus = os.cpu_count() or 1
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 512
    return f"""{MARKER}
ClusterName=reprolab
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


@contextlib.contextmanager
def cluster(state: Path, timeout: float = 30) -> Iterator[Path]:
    """Start slurmctld and slurmd, wait for the node to be idle, yield the state folder, stop them."""
    node = socket.gethostname().split(".")[0]
    for sub in ("ctld", "spool"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(slurm_conf(state, node))
    daemons: list[subprocess.Popen] = []
    with contextlib.ExitStack() as logs:
        for cmd in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", node]):
            log = logs.enter_context(open(state / f"{cmd[0]}.out", "w"))
            daemons.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        try:
            yield from _wait_idle(node, daemons, state, timeout)
        finally:
            _stop(daemons)


def _wait_idle(node: str, daemons: list[subprocess.Popen], state: Path, timeout: float) -> Iterator[Path]:
    deadline = time.monotonic() + timeout
    while "idle" not in _node_state(node):
        if time.monotonic() > deadline or any(d.poll() is not None for d in daemons):
            logs = "\n".join((state / f).read_text()[-2000:] for f in ("slurmctld.out", "slurmd.out"))
            raise RuntimeError(f"the test Slurm node never became idle ({_node_state(node)!r}):\n{logs}")
        time.sleep(0.3)
    yield state


def _stop(daemons: list[subprocess.Popen]) -> None:
    """Terminate the daemons this helper started, by PID; kill those that linger."""
    for daemon in daemons:
        daemon.terminate()
    for daemon in daemons:
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _node_state(node: str) -> str:
    result = subprocess.run(["sinfo", "-h", "-n", node, "-o", "%t"], capture_output=True, text=True)
    return result.stdout.strip() + result.stderr.strip()
