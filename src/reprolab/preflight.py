"""Before any job runs: is every file the planned downloads need here, pre-staged, or reachable?

A machine without internet (a cluster's compute nodes, an air-gapped workstation) would otherwise
learn it one dataset at a time, hours in. The Snakefile's `onstart` hands `check_inputs` the
datasets and assets whose download jobs the requested targets need (nothing when they are all
downloaded, or fixtures), and the check lists **every** missing file at once, with where to put
it. Each URL is probed with a one-byte range request, all at once, `timeout` seconds at most.
`snakemake --no-hooks` skips the check.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from reprolab import paths
from reprolab.data.sources import RemoteFile, files_of
from reprolab.errors import DataError

log = logging.getLogger(__name__)
DRIVE = "https://drive.google.com/uc?export=download&id={}"


@dataclass(frozen=True)
class Need:
    """The files one download job fetches: a dataset's or an asset's."""

    what: str  # "dataset mnist", "asset vgg16"
    name: str  # the dataset or asset: its pre-staged sub-folder and lock-file key
    dest_dir: Path
    files: tuple[RemoteFile, ...]


def reachable(url: str, timeout: float) -> str | None:
    """None when `url` answers with (part of) a file, else why not."""
    try:
        with urlopen(Request(url, headers={"User-Agent": "reprolab", "Range": "bytes=0-0"}), timeout=timeout):
            return None
    except HTTPError as e:
        return None if e.code == 416 else f"HTTP {e.code}"
    except Exception as e:  # noqa: BLE001 - any failure means "not from here"
        return str(getattr(e, "reason", None) or e)


def _present(remote: RemoteFile, need: Need, prestaged_dir: Path | None) -> bool:
    """Already downloaded, or pre-staged where `fetch_file` looks (the file, or its unpacked folder)."""
    if (need.dest_dir / remote.name).exists():
        return True
    if prestaged_dir is None:
        return False
    names = [remote.name, *([remote.folder] if remote.folder else [])]
    places = [prestaged_dir / n for n in names] + [prestaged_dir / need.name / n for n in names]
    return any(p.exists() for p in places) or prestaged_dir.name == remote.folder


def find_missing(needs: list[Need], prestaged_dir: Path | None, timeout: float = 10) -> list[str]:
    """One line per file that is neither here, nor pre-staged, nor reachable."""
    wanted = [(need, remote) for need in needs for remote in need.files
              if not _present(remote, need, prestaged_dir)]
    urls = {url for _, remote in wanted
            for url in (*remote.urls, *([DRIVE.format(remote.gdrive_id)] if remote.gdrive_id else []))}
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = dict(zip(urls, pool.map(lambda url: reachable(url, timeout), urls), strict=True))
    lines = []
    for need, remote in wanted:
        urls = [*remote.urls, *([DRIVE.format(remote.gdrive_id)] if remote.gdrive_id else [])]
        if any(answers[url] is None for url in urls):
            continue
        staged = f"{prestaged_dir}/" if prestaged_dir else "the folder named by data.prestaged_dir"
        folder = f" (or its unpacked {remote.folder}/ folder)" if remote.folder else ""
        tried = "; ".join(f"{url}: {answers[url]}" for url in urls) or "no URL"
        lines.append(f"{need.what}: {remote.name}{folder} -> put it at {need.dest_dir / remote.name} or in "
                     f"{staged}\n      tried {tried}")
    return lines


def planned_needs(datasets: list[str], assets: list[str], data_root: str) -> list[Need]:
    """The `Need`s of the download jobs Snakemake planned (by their wildcards)."""
    needs = [Need(f"dataset {d}", d, Path(paths.raw_dir(data_root, d)), files_of(d))
             for d in sorted(datasets)]
    if assets:
        from reprolab.data.assets import asset

        needs += [Need(f"asset {a}", a, Path(paths.asset_dir(data_root, a)), asset(a).files)
                  for a in sorted(assets)]
    return needs


def check_inputs(datasets: list[str], assets: list[str], data: dict, timeout: float = 10) -> None:
    """Raise a `DataError` listing every file the planned downloads cannot get, and where to put it."""
    needs = planned_needs(datasets, assets, data["root"])
    if not needs:
        return
    prestaged = Path(data["prestaged_dir"]) if data.get("prestaged_dir") else None
    log.info("checking that the %d download job(s) can get their files", len(needs))
    missing = find_missing(needs, prestaged, timeout)
    if missing:
        raise DataError(
            f"{len(missing)} file(s) the requested targets need are not here, not pre-staged and not "
            "reachable (no internet?). Put each where it says, then run again; no job was started:\n  "
            + "\n  ".join(missing)
            + "\n(`snakemake --no-hooks` skips this check)")
