"""Fault injection, the pipeline as a whole (issue 15, faults 5, 6, 8 and 10).

A bad configuration is refused when the Snakefile loads, naming the key. A full-scale run on a
machine without internet lists every missing file at once, before any job. A second run started
in the same folder stops on Snakemake's lock and leaves the first unharmed. The report escapes every
string that comes from data or config.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from reprolab.config import check_config
from reprolab.data.sources import RemoteFile
from reprolab.errors import ConfigError
from reprolab.preflight import Need, find_missing
from reprolab.registry import Variant
from reprolab.report.generic import results_table
from reprolab.report.parts import (
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Question,
    Reference,
    Row,
    Table,
    VariantResult,
)
from reprolab.report.render import render_html, report_context
from tests.conftest import REPO, copy_repo, snakemake, without_slurm

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
MLP = "chapters.mnist.experiments.keras_style.variants.mlp"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A copy of the repository, without outputs, for the Snakemake runs of this module."""
    return copy_repo(tmp_path_factory.mktemp("faults") / "repo")


@pytest.fixture(scope="module")
def no_slurm() -> dict:
    """Environment for Snakemake without a Slurm client (`conftest.without_slurm`) nor preset."""
    return without_slurm({"REPROLAB_PRESET": ""})


# -- fault 5: bad configuration --------------------------------------------------------------

def edit(path: str, value):
    """A change of config.yaml: `path` (dotted) set to `value`."""
    def change(config):
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value
    return change


@pytest.mark.parametrize("change, message", [
    (edit(f"{MLP}.epochs", -3), rf"{MLP}.epochs: -3 is less than the minimum of 1"),
    (edit(f"{MLP}.batch_size", "64"), rf"{MLP}.batch_size: '64' is not of type 'integer'"),
    (edit("device", "tpu"), r"key device: 'tpu' is not one of \['auto', 'cuda', 'cpu'\]"),
    (edit(f"{MLP}.device", "cuda:1"), rf"{MLP}.device: 'cuda:1' is not one of"),
    (edit(f"{MLP}.kind", "trian"), rf"{MLP}.kind: unknown kind 'trian'; known kinds: .*train"),
    (edit(f"{MLP}.dataset", "mnits"), rf"{MLP}.dataset: unknown dataset 'mnits'; known: .*mnist"),
    (edit(f"{MLP}.epocs", 3), rf"{MLP}.epocs: unknown key; did you mean 'epochs'"),
    (edit("chapters.mnist.experiments.keras_style.variants", {}), r"variants: {} should be non-empty"),
    (edit("chapters.mnist.experiments.nope", {"title": "x"}), r"nope: 'variants' is a required property"),
    (edit("chapters.mnist.epxeriments", {}), r"chapters.mnist: .*'epxeriments' (was|were) unexpected"),
    (edit("data.verify", "sometimes"), r"data.verify: 'sometimes' is not one of \['strict', 'warn'\]"),
], ids=["negative-epochs", "wrong-type", "no-such-device", "no-such-variant-device", "unknown-kind",
        "unknown-dataset", "misspelt-key", "no-variant", "experiment-without-variants",
        "misspelt-chapter-key", "wrong-enum"])
def test_a_bad_configuration_is_refused_naming_the_key(change, message):
    """`check_config` runs when the Snakefile loads, before any job (tests/test_dag.py runs it through
    Snakemake); a kind's own keys (`n_points`, `C`...) stay accepted."""
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config, REPO / "config.schema.yaml")


# -- fault 6: offline, every missing file at once --------------------------------------------

def test_the_preflight_lists_what_is_neither_here_nor_staged_nor_reachable(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "up.bin").write_bytes(b"x" * 100)
    (tmp_path / "staged" / "toy").mkdir(parents=True)
    (tmp_path / "staged" / "toy" / "staged.bin").write_bytes(b"x")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "here.bin").write_bytes(b"x")
    handler = partial(SimpleHTTPRequestHandler, directory=tmp_path / "served")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        files = (RemoteFile("here.bin", ("http://127.0.0.1:9/here.bin",)),
                 RemoteFile("staged.bin", ("http://127.0.0.1:9/staged.bin",)),
                 RemoteFile("up.bin", ("http://127.0.0.1:9/up.bin", base + "up.bin")),
                 RemoteFile("gone.bin", (base + "gone.bin",)),
                 RemoteFile("dead.tar.gz", ("http://127.0.0.1:9/dead.tar.gz",), folder="recordings"))
        missing = find_missing([Need("dataset toy", "toy", tmp_path / "raw", files)], tmp_path / "staged", 5)
    finally:
        server.shutdown()
    assert [line.split(" -> ")[0] for line in missing] == [
        "dataset toy: gone.bin", "dataset toy: dead.tar.gz (or its unpacked recordings/ folder)"]
    assert f"put it at {tmp_path / 'raw' / 'gone.bin'} or in {tmp_path / 'staged'}/" in missing[0]
    assert "HTTP 404" in missing[0] and "127.0.0.1:9/dead.tar.gz: " in missing[1]


def test_an_offline_full_scale_run_lists_every_missing_file_before_any_job(work, no_slurm):
    from reprolab.data.assets import asset
    from reprolab.data.sources import files_of
    from reprolab.registry import variants

    dead = "http://127.0.0.1:9"  # every connection goes through a proxy that refuses it: no internet
    offline = {"http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead, "HTTPS_PROXY": dead,
               "no_proxy": "", "NO_PROXY": "", **no_slurm}
    result = snakemake("--cores", "1", "datasets", "assets", cwd=work, env=offline, check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    datasets = {v.params["dataset"] for v in variants(CONFIG) if "dataset" in v.params}
    backbones = [v.params["features"]["backbone"] for v in variants(CONFIG) if "features" in v.params]
    assets = {*backbones, *(a for v in variants(CONFIG) for a in v.params.get("assets", []))}
    wanted = [f"dataset {d}: {f.name}" for d in datasets for f in files_of(d)]
    wanted += [f"asset {a}: {f.name}" for a in assets for f in asset(a).files]
    assert {"dataset mnist: t10k-labels-idx1-ubyte.gz", "dataset cifar10: cifar-10-python.tar.gz",
            "dataset avmnist: avmnist.tar.gz", "dataset fsdd: v1.0.10.tar.gz"} <= set(wanted)
    assert f"{len(wanted)} file(s) the requested targets need are not here, not pre-staged" in out
    assert all(line in out for line in wanted), [line for line in wanted if line not in out]
    assert ("put it at data/raw/cifar10/cifar-10-python.tar.gz or in the folder named by data.prestaged_dir"
            in out)
    assert not (work / "logs").exists() and not (work / "data").exists()  # no job started


# -- fault 8: two runs in the same folder ----------------------------------------------------

def test_a_second_run_in_the_same_folder_stops_on_the_lock_and_the_first_finishes(work, no_slurm):
    args = ["data/raw/mnist/manifest.json", "--cores", "1", "--configfile", "presets/smoke.yaml"]
    env = {**os.environ, "PYTHONPATH": str(work / "src"), **no_slurm}
    first = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=work, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    locks = work / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while not (locks.is_dir() and any(locks.iterdir())) and first.poll() is None:
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before we could start the second"
    os.killpg(first.pid, signal.SIGSTOP)  # hold the first run (and its job) while it has the lock
    try:
        second = snakemake(*args, cwd=work, env=no_slurm, check=False)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout + second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    manifest = json.loads((work / "data" / "raw" / "mnist" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]][0] == "train-images-idx3-ubyte.gz"
    assert not locks.exists() or not any(locks.iterdir())  # the first run released its lock


# -- fault 10: no HTML injection into the report ---------------------------------------------

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><b onmouseover=alert(3)>"


def hostile_report(tmp_path) -> dict:
    """The report's context where every string from config, data and results carries `EVIL`: the title,
    a chapter, an experiment and a variant named in the config, class names, a caption, a generated
    text, a seed citation, a dataset's provenance."""
    from PIL import Image

    Image.new("RGB", (40, 30), "white").save(tmp_path / "f.png")
    name = "v<img src=x onerror=alert(4)>\"'"  # a variant's name: no "/" (ids are chapter/experiment/variant)
    result = VariantResult(Variant("ch", "exp", name, {"kind": "train"}), {"test_acc": 50.0, "n_classes": 10})
    reference = Reference("test_acc", "seed 004", f"TME {EVIL}", value=52.0, split="test", note=EVIL)
    ctx = Context(smoke=True, tolerance=1.0, primary="test_acc", direction="max", figures_dir=tmp_path,
                  references={name: [reference]})
    table = Table([f"class {EVIL}", "n"], [Row([f"cat{EVIL}", "3"], verdict=EVIL)], title=f"Confusion {EVIL}")
    experiment = ExperimentPart(
        "exp", f"Experiment {EVIL}", "train", method=[f"As seed 004 says, {EVIL}"], setup=table,
        method_tables=[table], results=results_table({name: result}, ctx), tables=[table],
        figures=[Figure(str(tmp_path / "f.png"), f"Samples of {EVIL}")], observations=[f"Generated: {EVIL}"],
        questions=[Question(f"«{EVIL}»", f"seed 004, {EVIL}", f"Answer {EVIL}", [table])], origins=table)
    chapter = ChapterPart("ch", f"Chapter {EVIL}", [f"seed 004 {EVIL}"], "smoke", [experiment],
                          observations=[EVIL], discussion=[f"seed 004: {EVIL}"], conclusion=[EVIL])
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"dataset": f"d{EVIL}", "files": [
        {"name": f"f{EVIL}", "sha256": EVIL, "size": 1, "source": f"http://x/{EVIL}", "status": EVIL}]}))
    context, _ = report_context(
        report={"title": f"Report {EVIL}", "tolerance": 1.0}, scale="smoke", config_hash=EVIL,
        summaries=[asdict(chapter)], manifests=[manifest], benchmark_dir=tmp_path,
        runs=[{"id": f"ch/exp/{name}", "seed": 0, "device": EVIL, "device_name": EVIL, "wall_time_s": 1.0,
               "train_samples_per_s": 1.0}],
        references=REPO / "references.yaml", references_schema=REPO / "references.schema.yaml",
        variants=[f"ch/exp/{name}"], scorecard_path=tmp_path / "scorecard.csv")
    return context


def test_the_report_escapes_every_string_from_data_and_config(tmp_path):
    html = render_html(hostile_report(tmp_path), REPO / "report_templates")
    page = BeautifulSoup(html, "html.parser")
    assert page.find_all("script") == [] and page.find_all("b") == []
    assert [img["src"] for img in page.find_all("img") if not img["src"].startswith("data:")] == []
    assert [(tag.name, a) for tag in page.find_all(True) for a in tag.attrs if a.startswith("on")] == []
    shown = page.get_text()
    assert shown.count("<script>alert(1)</script>") >= 20  # printed as text, everywhere it appears
    assert page.find("a", href="#seed-004") is not None  # citations are still links
    assert page.title.get_text() == f"Report {EVIL}"
