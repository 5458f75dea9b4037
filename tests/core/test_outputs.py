"""Output paths are checked before any work: one error naming the path, and nothing created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evosnn.core.outputs import OutputError, check_out_dir, check_out_file


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("folder", "--json {tmp}/folder: is a folder, not a file; name a file"),
        ("file/x.json", "--json {tmp}/file/x.json: lies under the file {tmp}/file; name a file"),
        ("file/a/b/x.json", "lies under the file {tmp}/file; name a file in a folder"),
        ("/proc/x.json", "--json /proc/x.json: cannot write in /proc (it takes no new files)"),
        ("/proc/nope/x.json", "--json /proc/nope/x.json: cannot write in /proc"),
        ("/proc", "--json /proc: is a folder, not a file"),
    ],
)
def test_a_file_that_cannot_be_written_is_refused(tmp_path: Path, path: str, words: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("kept")
    before = _tree(tmp_path)
    with pytest.raises(OutputError) as refused:
        check_out_file(tmp_path / path, flag="--json")
    assert words.format(tmp=tmp_path) in str(refused.value)
    assert "\n" not in str(refused.value)
    assert _tree(tmp_path) == before  # nothing created
    assert (tmp_path / "file").read_text() == "kept"


def test_a_writable_file_passes_and_nothing_is_created(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("kept")
    for name in ("new.json", "old.json", "a/b/new.json"):
        assert check_out_file(tmp_path / name, flag="--json") == tmp_path / name
    assert _tree(tmp_path) == ["old.json"]
    assert (tmp_path / "old.json").read_text() == "kept"  # opened, not changed


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("kept")
    (tmp_path / "x.json").chmod(0o444)
    with pytest.raises(OutputError, match=r"x\.json: cannot be written"):
        check_out_file(tmp_path / "x.json", flag="--json")


def test_the_flag_may_be_left_out_of_the_message(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=rf"^{tmp_path}: is a folder, not a file"):
        check_out_file(tmp_path, flag=None)
    with pytest.raises(OutputError, match=r"^/proc/x: cannot write in /proc"):
        check_out_dir("/proc/x", flag=None)
