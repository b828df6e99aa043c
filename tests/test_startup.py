"""Job start-up: each job is a fresh Python process, so what it imports before working is paid
132 times by the smoke run. Heavy packages are imported where they are used; these checks run in
a fresh interpreter, the only place where `sys.modules` tells what a job imported."""

import subprocess
import sys

from tests.conftest import REPO

SNAKEMAKE = "class Snakemake:\n    params, threads, log = {'threads': 1}, 1, []\n"


def run(code: str, tmp_path) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_job_sets_threads_and_deterministic_kernels_without_importing_dynamo(tmp_path):
    """`torch.use_deterministic_algorithms` imports torch._dynamo (0.5 s) for inductor's flag; the
    job sets the same flags without it, and inductor still reads its flag when it is imported."""
    code = SNAKEMAKE + (
        "import sys, torch\n"
        "from reprolab.job import job\n"
        "with job(Snakemake()):\n"
        "    assert torch.get_num_threads() == 1\n"
        "    cpu = not torch.cuda.is_available()\n"
        "    assert torch.are_deterministic_algorithms_enabled() == cpu\n"
        "    assert torch.is_deterministic_algorithms_warn_only_enabled() == cpu\n"
        "assert 'torch._dynamo' not in sys.modules and 'torch._inductor' not in sys.modules\n"
        "import torch._inductor.config as inductor\n"
        "assert inductor.deterministic == cpu\n"
        "print('ok')\n")
    assert run(code, tmp_path).strip() == "ok"


def test_fixtures_and_seed_aggregation_import_no_torch(tmp_path):
    """The fixture, download, aggregation and report scripts run their job with `uses_torch=False`:
    what they call must not import torch behind their back (its threads would be unset)."""
    code = SNAKEMAKE + (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from reprolab.data.assets import ASSETS, write_asset_fixture\n"
        "from reprolab.data.datasets import known\n"
        "from reprolab.data.fixtures import write_fixture\n"
        "from reprolab.job import job\n"
        "from reprolab.registry import Variant\n"
        "from reprolab.results import aggregate\n"
        "import reprolab.data.download, reprolab.report.render\n"
        "with job(Snakemake(), uses_torch=False):\n"
        "    for name in known():\n"
        "        write_fixture(name, Path('raw') / name, n_train=20, n_test=10)\n"
        "    for name in ASSETS:\n"
        "        write_asset_fixture(name, Path('assets') / name)\n"
        "    seed = Path('v/seed0'); seed.mkdir(parents=True)\n"
        "    (seed / 'metrics.json').write_text(json.dumps({'seed': 0, 'device': 'cpu',\n"
        "                                                   'device_name': 'cpu', 'test_acc': 0.5}))\n"
        "    (seed / 'history.csv').write_text('epoch,train_loss,test_loss,train_acc,test_acc\\n'\n"
        "                                      '1,0.5,0.6,80,70\\n2,0.25,0.5,90,80\\n')\n"
        "    variant = Variant('c', 'e', 'v', {'kind': 'train'})\n"
        "    aggregate(variant, [seed], Path('v'))\n"
        "    assert Path('v/curves.png').stat().st_size > 0\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "print('ok')\n")
    assert run(code, tmp_path).strip() == "ok"


def test_job_modules_leave_heavy_packages_to_the_jobs_that_use_them(tmp_path):
    """kornia for augmented variants only, scikit-learn for the `svm` kind only, not `scratch`."""
    code = ("import sys\n"
            "import reprolab.augment, reprolab.train, reprolab.chapters.backprop.jobs\n"
            "assert 'kornia' not in sys.modules and 'sklearn' not in sys.modules, sorted(sys.modules)\n"
            "reprolab.augment.make_augment({'rotation': 10, 'color_jitter': 0.2})\n"
            "assert 'kornia' in sys.modules\n"
            "print('ok')\n")
    assert run(code, tmp_path).strip() == "ok"
