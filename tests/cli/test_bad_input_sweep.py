"""Every command, every bad input: one ``evosnn: error: ...`` line naming the thing, exit 2.

Each case runs the real CLI in a process of its own (forked from a zygote that imported it once,
:mod:`tests.cli.zygote`; :func:`test_verbose_keeps_the_cause` runs ``python -m evosnn.cli``
itself) and asserts: exit status 2,
no traceback, exactly one line that starts with ``evosnn: error:`` and is the last line of stderr,
the words that name the thing, none of the words that must not appear (a password, PyTorch's
``weights_only=False`` advice), and, where the case says so, that no file was written.
The commands are enumerated from the argparse parser: a new command without cases fails
:func:`test_every_command_has_cases`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from evosnn.cli import build_parser
from tests.cli.zygote import Zygote
from tests.conftest import ROOT, tiny_dict, write_space
from tests.studies import copy_database, searched_tiny_study


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (``{tmp}``, ``{ckpt}``, ... filled in) and what to see."""

    id: str
    argv: tuple[str, ...]
    says: tuple[str, ...]
    never: tuple[str, ...] = ()
    untouched: tuple[str, ...] = ()  # paths that must not exist afterwards
    marks: tuple[pytest.MarkDecorator, ...] = field(default_factory=tuple)


PASSWORD = "postgresql://postgres:s3cr@tPW@127.0.0.1:1/db"
SEARCH = ("search", "--space", "{space}", "--supernet", "{ckpt}", "--workers", "0")
TRAIN = ("train", "{arch}", "--epochs", "1")

CASES = [
    # space check
    Case("space-missing", ("space", "check", "{tmp}/nope.yaml"), ("nope.yaml",)),
    Case("space-not-yaml", ("space", "check", "{junk}"), ("junk.bin",)),
    # space list
    Case("space-list-extra", ("space", "list", "--bogus"), ("--bogus",)),
    # supernet sensitivity
    Case(
        "sens-missing-supernet",
        ("supernet", "sensitivity", "--space", "{space}", "--supernet", "{tmp}/nope.pt"),
        ("nope.pt",),
    ),
    Case(
        "sens-json-in-proc",
        ("supernet", "sensitivity", "--space", "{space}", "--synthetic", "--json", "/proc/x.json"),
        ("--json", "/proc/x.json", "cannot write in /proc"),
    ),
    Case(
        "sens-json-is-a-folder",
        ("supernet", "sensitivity", "--space", "{space}", "--synthetic", "--json", "{tmp}"),
        ("--json", "is a folder, not a file"),
    ),
    Case(
        "sens-json-under-a-file",
        ("supernet", "sensitivity", "--space", "{space}", "--synthetic", "--json", "{junk}/x.json"),
        ("--json", "lies under the file"),
    ),
    Case(
        "sens-no-subnets",
        ("supernet", "sensitivity", "--space", "{space}", "--subnets", "0", "--synthetic"),
        ("--subnets",),
    ),
    # supernet train
    Case(
        "st-device-tpu",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
            "--device",
            "tpu",
        ),
        ("--device", "tpu"),
        untouched=("{tmp}/r",),
    ),
    Case(
        "st-device-cuda-x",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
            "--device",
            "cuda:x",
        ),
        ("--device", "cuda:x"),
    ),
    Case(
        "st-device-cuda",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
            "--device",
            "cuda",
        ),
        ("--device", "CUDA"),
    ),
    Case(
        "st-lr-nan",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
            "--lr",
            "nan",
        ),
        ("--lr", "nan"),
    ),
    Case(
        "st-gpus-neg",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
            "--gpus-per-worker",
            "-1",
        ),
        ("--gpus-per-worker",),
    ),
    Case(
        "st-data-is-a-file",
        (
            "supernet",
            "train",
            "--space",
            "cifar10-spikformer",
            "--data",
            "{junk}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
        ),
        ("junk.bin", "is a file, not a folder"),
        untouched=("{tmp}/r",),
    ),
    Case(
        "st-data-for-an-embedded-space",
        (
            "supernet",
            "train",
            "--space",
            "{space}",
            "--data",
            "{tmp}/nope",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
        ),
        ("--data", "reads no data folder"),
        untouched=("{tmp}/r",),
    ),
    Case(
        "st-events-header-only",
        (
            "supernet",
            "train",
            "--space",
            "cifar10-dvs-spikformer",
            "--data",
            "{c10_header_only}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
        ),
        ("bird_0.aedat", "holds only an AEDAT header, no events"),
        untouched=("{tmp}/r/supernet.pt",),
    ),
    Case(
        "st-events-random-aedat",
        (
            "supernet",
            "train",
            "--space",
            "cifar10-dvs-spikformer",
            "--data",
            "{c10_random}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
        ),
        ("bird_0.aedat", "not an AEDAT recording"),
        never=("data_version",),
        untouched=("{tmp}/r/supernet.pt",),
    ),
    Case(
        "st-events-empty-aedat",
        (
            "supernet",
            "train",
            "--space",
            "cifar10-dvs-spikformer",
            "--data",
            "{c10_empty}",
            "--out",
            "{tmp}/r",
            "--epochs",
            "1",
        ),
        ("bird_0.aedat", "empty file"),
        never=("Errno",),
        untouched=("{tmp}/r/supernet.pt",),
    ),
    Case(
        "st-ray-address-in-process",
        ("supernet", "train", "--space", "{space}", "--out", "{tmp}/r", "--ray-address", "auto"),
        ("ray_address", "workers=0"),
        untouched=("{tmp}/r",),
    ),
    Case(
        "st-space-missing",
        ("supernet", "train", "--space", "{tmp}/nope.yaml", "--out", "{tmp}/r", "--epochs", "1"),
        ("nope.yaml",),
    ),
    Case(
        "st-out-is-file",
        ("supernet", "train", "--space", "{space}", "--out", "{junk}", "--epochs", "1"),
        ("junk.bin",),
    ),
    Case(
        "st-resume-other-seed",
        (
            "supernet",
            "train",
            "--space",
            "{tinyspace}",
            "--out",
            "{resumable}",
            "--resume",
            "--seed",
            "5",
            "--epochs",
            "2",
        ),
        ("--seed",),
    ),
    # supernet rank-check
    Case(
        "rc-supernet-missing", ("supernet", "rank-check", "--supernet", "{tmp}/no.pt"), ("no.pt",)
    ),
    Case(
        "rc-supernet-yaml",
        ("supernet", "rank-check", "--supernet", "{space}"),
        ("space.yaml",),
        never=("weights_only",),
    ),
    Case(
        "rc-storage-first",
        (
            "supernet",
            "rank-check",
            "--supernet",
            "{ckpt}",
            "--out",
            "{tmp}/rc",
            "--subnets",
            "6",
            "--epochs",
            "1",
            "--seeds",
            "2",
            "--workers",
            "0",
            "--storage",
            "foo://bar",
            "--study",
            "s",
        ),
        ("foo://bar",),
        untouched=("{tmp}/rc",),
    ),
    # search
    Case("se-in-memory", (*SEARCH, "--storage", "sqlite:///"), ("sqlite:///", "in-memory")),
    Case("se-memory-name", (*SEARCH, "--storage", "sqlite:///:memory:"), ("in-memory",)),
    Case("se-notaurl", (*SEARCH, "--storage", "notaurl"), ("notaurl",)),
    Case("se-foo", (*SEARCH, "--storage", "foo://"), ("foo://", "unknown database")),
    Case(
        "se-driver",
        (*SEARCH, "--storage", "postgresql+asyncpg://u:hunter2@127.0.0.1/db"),
        ("postgresql+asyncpg://u:***@127.0.0.1/db", "driver"),
        never=("hunter2",),
    ),
    Case(
        "se-password-at",
        (*SEARCH, "--storage", PASSWORD),
        ("postgres:***@",),
        never=("s3cr", "tPW"),
    ),
    Case("se-gpus-neg", (*SEARCH, "--gpus-per-worker", "-1"), ("--gpus-per-worker",)),
    Case("se-gpus-nan", (*SEARCH, "--gpus-per-worker", "nan"), ("--gpus-per-worker", "nan")),
    Case("se-gpus-huge", (*SEARCH, "--gpus-per-worker", "1e9"), ("--gpus-per-worker", "1e9")),
    Case(
        "se-gpus-in-process", (*SEARCH, "--gpus-per-worker", "1"), ("--gpus-per-worker", "--device")
    ),
    Case("se-population", (*SEARCH, "--population", "1e20"), ("--population", "1e20")),
    Case(
        "se-population-big", (*SEARCH, "--population", "100000000000000000000"), ("--population",)
    ),
    Case("se-device-tpu", (*SEARCH, "--device", "tpu"), ("--device", "tpu")),
    # issue 43: storage paths checked first, empty names refused, flags that would be ignored,
    # data and checkpoint paths named for what they are
    Case(
        "se-data-for-an-embedded-space",
        (*SEARCH, "--storage", "sqlite:///{tmp}/s.db", "--data", "{tmp}/nope"),
        ("--data", "reads no data folder", "not used there"),
        untouched=("{tmp}/s.db",),
    ),
    Case(
        "se-supernet-is-a-folder",
        (
            "search",
            "--space",
            "{space}",
            "--supernet",
            "{resumable}",
            "--workers",
            "0",
            "--storage",
            "sqlite:///{tmp}/s.db",
        ),
        ("is a folder", "did you mean", "supernet.pt"),
        untouched=("{tmp}/s.db",),
    ),
    Case(
        "se-storage-missing-folder",
        (*SEARCH, "--storage", "sqlite:///{tmp}/nonexistent/dir/x.db"),
        ("nonexistent", "does not exist"),
        untouched=("{tmp}/nonexistent",),
    ),
    Case(
        "se-storage-under-a-file",
        (*SEARCH, "--storage", "sqlite:///{junk}/x.db"),
        ("lies under the file", "junk.bin"),
    ),
    Case("se-storage-folder", (*SEARCH, "--storage", "sqlite:///{tmp}"), ("is a folder",)),
    Case("se-storage-empty", (*SEARCH, "--storage", ""), ("storage=''",)),
    Case("se-stem-cache-negative", (*SEARCH, "--stem-cache-mib", "-1"), ("--stem-cache-mib", "-1")),
    Case("se-study-empty", (*SEARCH, "--study", ""), ("study=''",)),
    Case(
        "se-ray-address-in-process",
        (*SEARCH, "--ray-address", "127.0.0.1:1"),
        ("ray_address", "workers=0"),
    ),
    Case("se-device-cuda", (*SEARCH, "--device", "cuda"), ("--device", "CUDA")),
    Case(
        "se-supernet-random",
        (
            "search",
            "--space",
            "{space}",
            "--supernet",
            "{junk}",
            "--workers",
            "0",
            "--storage",
            "sqlite:///{tmp}/s.db",
        ),
        ("junk.bin",),
        never=("weights_only", "<checkpoint bytes>"),
    ),
    Case(
        "se-supernet-yaml",
        (
            "search",
            "--space",
            "{space}",
            "--supernet",
            "{space}",
            "--workers",
            "0",
            "--storage",
            "sqlite:///{tmp}/s.db",
        ),
        ("space.yaml",),
        never=("weights_only", "<checkpoint bytes>"),
    ),
    Case(
        "se-other-space",
        (
            "search",
            "--space",
            "{space2}",
            "--supernet",
            "{ckpt}",
            "--workers",
            "0",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
        ),
        ("another search space", "space.objectives"),
    ),
    Case(
        "se-interrupted-supernet",
        (
            *SEARCH,
            "--population",
            "2",
            "--generations",
            "1",
            "--storage",
            "sqlite:///{tmp}/s.db",
            "--supernet",
            "{interrupted}",
        ),
        ("interrupted",),
    ),
    Case(
        "se-gpus-without-gpu",
        (*SEARCH, "--workers", "1", "--gpus-per-worker", "1", "--storage", "sqlite:///{tmp}/g.db"),
        ("--gpus-per-worker 1", "GPU"),
        never=("corrupt",),
        marks=(pytest.mark.ray, pytest.mark.slow),  # refused once Ray is up and has no GPU
    ),
    # export
    Case(
        "ex-device-tpu",
        (
            "export",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
            "--out",
            "{tmp}/e",
            "--device",
            "tpu",
        ),
        ("--device", "tpu"),
    ),
    Case(
        "ex-trial-without-pick",
        (
            "export",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
            "--out",
            "{tmp}/e",
            "--trial",
            "3",
        ),
        ("--trial 3", "--pick"),
    ),
    Case(
        "ex-pick-without-trial",
        (
            "export",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
            "--out",
            "{tmp}/e",
            "--pick",
            "trial",
        ),
        ("--trial",),
    ),
    Case(
        "ex-other-pick",
        (
            "export",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
            "--out",
            "{export}",
            "--pick",
            "pareto",
        ),
        ("--pick knee", "--pick pareto", "choose another --out"),
    ),
    Case(
        "ex-weights-flags-without-weights",
        (
            "export",
            "--storage",
            "{study_url}",
            "--study",
            "tiny",
            "--out",
            "{tmp}/e",
            "--supernet",
            "{ckpt}",
            "--data",
            "{tmp}",
        ),
        ("--supernet and --data", "--with-weights"),
        untouched=("{tmp}/e",),
    ),
    Case(
        "ex-other-study",
        ("export", "--storage", "sqlite:///{other_db}", "--study", "tiny", "--out", "{export}"),
        ("--out", "tiny", "another folder"),
    ),
    Case(
        "ex-no-study",
        ("export", "--storage", "{study_url}", "--study", "nosuch", "--out", "{tmp}/e"),
        ("nosuch",),
        untouched=("{tmp}/e",),
    ),
    Case(
        "ex-storage-missing",
        ("export", "--storage", "sqlite:///{tmp}/nope.db", "--study", "tiny", "--out", "{tmp}/e"),
        ("nope.db",),
    ),
    Case(
        "ex-out-is-file",
        ("export", "--storage", "{study_url}", "--study", "tiny", "--out", "{junk}"),
        ("junk.bin",),
    ),
    # train
    Case("tr-lr-sweep-no-tune", (*TRAIN, "--lr-sweep", "0.1", "0.01"), ("--lr-sweep", "--tune")),
    Case("tr-device-tpu", (*TRAIN, "--device", "tpu"), ("--device", "tpu")),
    Case("tr-device-cuda", (*TRAIN, "--device", "cuda"), ("--device", "CUDA")),
    Case("tr-missing", ("train", "{tmp}/trial-00001.yaml"), ("trial-00001.yaml",)),
    Case(
        "tr-storage-first",
        (*TRAIN, "--out", "{tmp}/t", "--storage", "foo://bar"),
        ("foo://bar",),
        untouched=("{tmp}/t",),
    ),
    Case("tr-gpus-nan", (*TRAIN, "--tune", "--gpus-per-trial", "nan"), ("--gpus-per-trial",)),
    Case(
        "tr-out-is-file",
        (*TRAIN, "--out", "{junk}", "--storage", "{study_url}"),
        ("junk.bin",),
    ),
    Case(
        "tr-resume-truncated",
        (*TRAIN, "--out", "{truncated_dir}", "--resume", "--storage", "{study_url}"),
        ("retrained.pt",),
    ),
    # benchmark
    Case("bm-missing", ("benchmark", "{tmp}/trial-00001.yaml"), ("trial-00001.yaml",)),
    Case("bm-not-an-export", ("benchmark", "{junk}"), ("junk.bin", "YAML")),
    Case("bm-limit-zero", ("benchmark", "{arch}", "--limit", "0"), ("--limit",)),
    # report
    Case(
        "re-storage-missing",
        ("report", "--storage", "sqlite:///{tmp}/nope.db", "--study", "t", "--out", "{tmp}/rep"),
        ("nope.db",),
        untouched=("{tmp}/rep",),
    ),
    Case(
        "re-password",
        ("report", "--storage", PASSWORD, "--study", "t", "--out", "{tmp}/rep"),
        ("postgres:***@",),
        never=("s3cr", "tPW"),
    ),
    Case(
        "re-out-is-file",
        ("report", "--storage", "{study_url}", "--study", "tiny", "--out", "{junk}"),
        ("junk.bin",),
    ),
    # dashboard
    Case(
        "da-port-busy",
        ("dashboard", "--storage", "{study_url}", "--port", "{busy_port}"),
        ("{busy_port}",),
        never=("Listening", "optuna-dashboard for"),
    ),
    Case(
        "da-port-70000",
        ("dashboard", "--storage", "{study_url}", "--port", "70000"),
        ("--port", "70000"),
    ),
    Case(
        "da-host",
        ("dashboard", "--storage", "{study_url}", "--host", "203.0.113.7", "--port", "18080"),
        ("203.0.113.7",),
        never=("optuna-dashboard for",),
    ),
    Case("da-notaurl", ("dashboard", "--storage", "notaurl"), ("notaurl",)),
    Case(
        "da-typo-database",
        ("dashboard", "--storage", "sqlite:///{tmp}/typo.db"),
        ("typo.db", "no such study database"),
        never=("optuna-dashboard for",),
        untouched=("{tmp}/typo.db",),
    ),
    # demo
    Case(
        "de-space-missing",
        ("demo", "--space", "{tmp}/nope.yaml", "--out", "{tmp}/d"),
        ("nope.yaml",),
    ),
    Case("de-workers-neg", ("demo", "--workers", "-1", "--out", "{tmp}/d"), ("--workers",)),
    Case(
        "de-device-tpu",
        ("demo", "--device", "tpu", "--out", "{tmp}/d"),
        ("--device", "tpu"),
        untouched=("{tmp}/d",),
    ),
    Case(
        "de-out-is-file",
        ("demo", "--space", "{quickspace}", "--workers", "0", "--out", "{junk}/sub"),
        ("junk.bin",),
    ),
]


def _command_names(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[str]:
    """Every leaf command of the parser (``space check``, ``search``, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_names(sub, f"{prefix}{name} ")
            return
    yield prefix.strip()


def _case_command(case: Case) -> str:
    names = set(_command_names(build_parser()))
    two = " ".join(case.argv[:2])
    return two if two in names else case.argv[0]


def test_every_command_has_cases() -> None:
    names = set(_command_names(build_parser()))
    assert names >= {"search", "supernet train", "dashboard"}
    covered = {_case_command(case) for case in CASES}
    assert names - covered == set(), "commands without bad-input cases"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> dict[str, str]:
    """The files the cases name: a searched tiny study, its export, junk files, a busy port."""
    from evosnn.reporting.export import export_study

    base = tmp_path_factory.mktemp("sweep")
    tinyspace = write_space(base, tiny_dict(), "tiny.yaml")
    other = tiny_dict()
    other["objectives"] = {"energy_target_mj": 0.123}
    space2 = write_space(base, other, "space2.yaml")
    quick = tiny_dict()
    quick["training"] = {"epochs": 1}
    url = searched_tiny_study(base, tiny_checkpoint)
    copy_database(base / "study.db", base / "other.db")  # the same study name in another database
    export = base / "export"
    arch = export_study(url, "tiny", export, pick="knee")[0]
    truncated = base / "truncated"
    truncated.mkdir()
    (truncated / f"{arch.stem}.retrained.pt").write_bytes(b"PK\x03\x04 truncated")
    events = _event_folders(base)
    junk = base / "junk.bin"
    junk.write_bytes(b"\x80\x61" + random.Random(0).randbytes(510))  # PROTO 97: torch warns
    return {
        "space": str(write_space(base, tiny_dict(), "space.yaml")),
        "tinyspace": str(tinyspace),
        "quickspace": str(write_space(base, quick, "quick.yaml")),
        "space2": str(space2),
        "ckpt": str(tiny_checkpoint),
        "resumable": str(_copy(tiny_checkpoint, base / "resumable")),
        "interrupted": str(_interrupted(base, tiny_checkpoint)),
        "study_url": url,
        "other_db": str(base / "other.db"),
        "export": str(export),
        "arch": str(arch),
        "truncated_dir": str(truncated),
        "junk": str(junk),
        **events,
    }


def _event_folders(base: Path) -> dict[str, str]:
    """CIFAR10-DVS folders (3 recordings a class) whose bird_0.aedat is damaged three ways."""
    from tests.evaluate.test_events import make_cifar10_dvs

    damaged = {
        "c10_header_only": b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n",
        "c10_random": random.Random(1).randbytes(400),
        "c10_empty": b"",
    }
    folders = {}
    for name, content in damaged.items():
        make_cifar10_dvs(base / name).write_bytes(content)
        folders[name] = str(base / name)
    return folders


def _copy(checkpoint: Path, folder: Path) -> Path:
    """A run folder of its own holding a copy of ``checkpoint`` (cases may resume it)."""
    folder.mkdir()
    shutil.copy(checkpoint, folder / checkpoint.name)
    return folder


def _interrupted(base: Path, checkpoint: Path) -> Path:
    """A copy of the tiny supernet marked as interrupted mid-training."""
    import torch

    data = torch.load(checkpoint, weights_only=True)
    data["status"] = "interrupted"
    path = base / "interrupted.pt"
    torch.save(data, path)
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def cli() -> Iterator[Zygote]:
    """Each case runs in a process of its own, forked from one that imported the CLI once."""
    with Zygote({**os.environ, "PYTHONPATH": str(ROOT)}) as zygote:
        yield zygote


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "evosnn.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _filled(text: str, values: dict[str, str]) -> str:
    return text.format(**values)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_is_one_line(
    case: Case, world: dict[str, str], tmp_path: Path, busy_port: int, cli: Zygote
) -> None:
    values = {**world, "tmp": str(tmp_path), "busy_port": str(busy_port)}
    fill: Callable[[str], str] = lambda text: _filled(text, values)  # noqa: E731
    run = cli.run([fill(a) for a in case.argv], tmp_path)
    err = run.stderr.strip()
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("evosnn: error:")]
    assert run.returncode == 2, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert len(errors) == 1 and lines[-1] == errors[0], err[-2000:]
    for word in case.says:
        assert fill(word) in errors[0], errors[0]
    for word in case.never:
        assert word not in run.stdout + run.stderr, errors[0]
    for path in case.untouched:
        assert not Path(fill(path)).exists(), f"{fill(path)} was written"


def test_verbose_keeps_the_cause(world: dict[str, str], tmp_path: Path) -> None:
    run = _run(
        [
            "-v",
            "search",
            "--space",
            world["space"],
            "--supernet",
            world["junk"],
            "--workers",
            "0",
            "--storage",
            f"sqlite:///{tmp_path}/s.db",
        ],
        tmp_path,
    )
    assert run.returncode == 2
    assert "Traceback" in run.stderr and run.stderr.strip().splitlines()[-1].startswith(
        "evosnn: error:"
    )


def test_a_read_only_study_database_is_named_before_any_work(
    world: dict[str, str], tmp_path: Path, cli: Zygote
) -> None:
    """Issue 43: ``search`` retried a read-only database for 2 minutes, ``train`` trained and
    then retried "annotating trial N" for 5; both now refuse at once, naming it read-only. The
    copy is made immutable (``chattr +i``, which binds root too), or read-only by its mode."""
    database = tmp_path / "ro.db"
    copy_database(Path(world["study_url"].removeprefix("sqlite:///")), database)
    url = f"sqlite:///{database}"
    root = os.geteuid() == 0
    if root and subprocess.run(["chattr", "+i", str(database)]).returncode:
        pytest.skip("chattr +i is not supported here")
    if not root:
        database.chmod(0o444)
    try:
        train = cli.run(
            ["train", world["arch"], "--epochs", "1", "--out", f"{tmp_path}/t", "--storage", url],
            tmp_path,
        )
        search = cli.run(
            ["search", "--space", world["tinyspace"], "--supernet", world["ckpt"],
             "--workers", "0", "--storage", url, "--study", "tiny"],
            tmp_path,
        )  # fmt: skip
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(database)], check=True)
    for run in (train, search):
        last = run.stderr.strip().splitlines()[-1]
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert last.startswith("evosnn: error:") and "read-only" in last and "ro.db" in last
    assert not (tmp_path / "t").exists()  # nothing trained
