"""Export chosen architectures of a search as files a training job consumes.

Each chosen trial becomes ``DIR/trial-NNNNN.yaml``: the ``SubnetConfig``, its metrics, the search
space (so the data set is known), and provenance (study, trial number, storage URL without password,
supernet sha256, evosnn version). With weights, ``DIR/trial-NNNNN.pt`` holds the stand-alone
Spikformer's inherited weights *as evaluated*: BatchNorm recalibrated with the study's recorded
evaluation settings, so the loaded network reproduces the search's validation accuracy exactly.

Picks:
    pareto      every feasible non-dominated trial (accuracy up, energy down).
    knee        pymoo's HighTradeoffPoints on the normalised Pareto front (the points whose
                neighbours trade the most of one objective for the least of the other); with fewer
                than three Pareto points, the best F_AEB among them.
    best-faeb   the feasible trial with the highest F_AEB.
    trial N     that trial (it must be COMPLETE).

File names come from trial numbers only, so nothing can be written outside ``DIR``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from optuna.trial import TrialState

import evosnn
from evosnn.core.config import SubnetConfig
from evosnn.core.errors import ConfigError, EvosnnError
from evosnn.core.outputs import OutputError
from evosnn.core.run_lock import run_lock
from evosnn.core.space import SearchSpace
from evosnn.objectives.front import knee_index, pareto_records
from evosnn.storage.ledger import Ledger, LedgerRecord
from evosnn.storage.url import absolute, redact

__all__ = [
    "EXPORT_FORMAT",
    "MARKER",
    "Exported",
    "claim_folder",
    "export_study",
    "load_export",
    "pick_trials",
]

log = logging.getLogger(__name__)

EXPORT_FORMAT = "evosnn-architecture/1"
#: The file that marks an export folder as one study's (:func:`claim_folder`).
MARKER = ".evosnn-export.yaml"


@dataclass(frozen=True)
class Exported:
    """An exported architecture read back from its YAML file."""

    path: Path
    config: SubnetConfig
    space: SearchSpace
    metrics: dict[str, Any]
    provenance: dict[str, Any]

    @property
    def weights_path(self) -> Path:
        return self.path.with_suffix(".pt")


def _feasible(records: list[LedgerRecord]) -> list[LedgerRecord]:
    return [r for r in records if r.feasible]


def pick_trials(
    records: list[LedgerRecord], pick: str, trial: int | None = None
) -> list[LedgerRecord]:
    """The records ``pick`` chooses (see the module docstring)."""
    if pick == "trial":
        chosen = [r for r in records if r.number == trial]
        if not chosen:
            raise EvosnnError(f"the study has no trial {trial}")
        if chosen[0].state != TrialState.COMPLETE:
            raise EvosnnError(
                f"trial {trial} is {chosen[0].state.name}, not COMPLETE; it has no metrics to export"
            )
        return chosen
    feasible = _feasible(records)
    if not feasible:
        raise EvosnnError("the study has no completed feasible trial yet")
    if pick == "best-faeb":
        return [max(feasible, key=lambda r: r.attrs.f_aeb or 0.0)]
    front = pareto_records(feasible)
    if pick == "pareto":
        return front
    if pick == "knee":
        return [_knee(front)]
    raise EvosnnError(f"unknown pick {pick!r}; choose pareto, knee, best-faeb or trial")


def _knee(front: list[LedgerRecord]) -> LedgerRecord:
    values = [r.values for r in front if r.values]
    return front[knee_index(values, [r.attrs.f_aeb or 0.0 for r in front])]


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def claim_folder(
    out: Path, study: str, storage: str, *, pick: str, trial: int | None = None
) -> None:
    """Make ``out`` the export folder of this study's ``pick``, or refuse a folder that holds
    another study's export or another pick's, so that an export never mixes its files with
    another's (another study's architectures, or a knee left beside a Pareto front and its
    stale weights). Exporting the same pick again (a re-export) is allowed.

    The folder is marked with :data:`MARKER`: study name, storage URL (password hidden), pick,
    and for ``pick="trial"`` the trial number (what :func:`pick_trials` selects by). Folders
    written before the marker held all of this are judged by what they hold, and the marker is
    completed:

    * no marker: the ``provenance`` of the folder's ``trial-*.yaml`` files names their study
      (another study's files are refused) and pick;
    * a marker without a pick: the files' ``provenance.pick`` names it (every export wrote it);
      another pick there is refused. Where no file names a pick (an empty folder, or files
      older than ``provenance.pick``), nothing tells which pick they were, and the export
      goes ahead and marks the folder with its own.

    Raises:
        OutputError: ``out`` holds another study's or another pick's export (the message says
            which, and to choose another ``--out``), or is not a writable folder.
    """
    mine: dict[str, Any] = {"study": study, "storage": storage, **_selection(pick, trial)}
    marker = out / MARKER
    try:
        out.mkdir(parents=True, exist_ok=True)
        owner = yaml.safe_load(marker.read_text(encoding="utf-8")) if marker.is_file() else None
        if owner is not None and not isinstance(owner, dict):
            raise OutputError(
                f"--out {out}: its {MARKER} is not an export marker; choose another --out"
            )
        files = [] if owner and "pick" in owner else list(_exported_in(out))
        if owner is None:  # an export older than the marker: its files' study name decides
            found = next((f for f in files if f["study"] != study), None)
            owner = found or {"study": study, "storage": storage}
        if owner.get("study") != study or owner.get("storage") != storage:
            raise OutputError(
                f"--out {out} holds the export of study {owner.get('study')!r} in "
                f"{owner.get('storage')}, not {study!r} in {storage}; choose another folder"
            )
        held = [_selection(owner["pick"], owner.get("trial"))] if "pick" in owner else []
        held = held or [_selection(f["pick"], f.get("trial")) for f in files if f.get("pick")]
        if held and _selection(pick, trial) not in held:
            raise OutputError(
                f"--out {out} holds the {_shown(held[0])} export of study {study!r}; a "
                f"{_shown(mine)} export there would mix the two: choose another --out"
            )
        _write_atomic(marker, yaml.safe_dump(mine, sort_keys=False).encode())
    except (OSError, yaml.YAMLError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise OutputError(f"--out {out}: cannot write the export there ({reason})") from exc


def _selection(pick: str, trial: Any) -> dict[str, Any]:
    """What selects an export's trials (:func:`pick_trials`): the pick, and its trial number."""
    return {"pick": pick, "trial": trial} if pick == "trial" else {"pick": pick}


def _shown(selection: dict[str, Any]) -> str:
    """A selection as the flags that make it: ``--pick knee``, ``--pick trial --trial 6``."""
    trial = selection.get("trial")
    return f"--pick {selection['pick']}" + ("" if trial is None else f" --trial {trial}")


def _exported_in(out: Path) -> Iterator[dict[str, Any]]:
    """The study, storage, pick and trial each readable ``trial-*.yaml`` of ``out`` names."""
    for path in sorted(out.glob("trial-*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            provenance = document["provenance"]
            yield {
                "study": provenance["study"],
                "storage": provenance["storage"],
                "pick": provenance.get("pick"),
                "trial": provenance.get("trial"),
            }
        except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, KeyError):
            continue


#: The trial's recorded figures an exported YAML carries under ``metrics`` (beside accuracy and
#: the objective's energy).
METRIC_KEYS = (
    "accuracy_ci95",  # the 95 % Wilson interval over `total` validation images
    "f_aeb",
    "params",
    "sops",
    "macs",
    "correct",
    "total",
    "energy_convention",
    "energy_mj_spikformer",
    "energy_mj_strict",
    "energy_mj_memory",  # arithmetic + memory traffic + neuron updates (the space's profile)
    "energy_mj_qnn",  # the same architecture as a ceil(log2(T+1))-bit quantised ANN
    "energy_mj_fp32",  # ... and as a float ANN, under the same profile
    "break_even_rate",  # the uniform firing rate at which the SNN would cost its QNN's
    "test_accuracy",  # the held-out test split, scored when the search ended
    "test_accuracy_ci95",
    "test_total",
    "silent_paths",  # synaptic paths silent on every evaluation image
    "equivalent_to",  # the evaluated trial this one's network equals (genes shown inert)
)


def export_study(
    storage_url: str,
    study_name: str,
    out_dir: str | Path,
    *,
    pick: str = "pareto",
    trial: int | None = None,
    supernet: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "cpu",
) -> list[Path]:
    """Write the chosen architectures to ``out_dir``; with ``supernet``, their weights too
    (inherited and BN-recalibrated on ``device``).

    ``out_dir`` is held while it is written (:func:`~evosnn.core.run_lock.run_lock`) and must be
    this study's folder of this pick, or a new one (:func:`claim_folder`).

    Raises:
        OutputError: ``out_dir`` holds another study's or another pick's export, or another
            process holds it (``FolderInUse``).
    """
    from evosnn.data.loading import check_data_root
    from supernet.checkpoint import checkpoint_file

    ledger, study = Ledger.open_search(storage_url, study_name)
    codec = ledger.codec
    space = codec.space
    check_data_root(space.dataset, data_root, space=space.name)  # before out_dir is claimed
    if supernet is not None:
        checkpoint_file(supernet, "supernet checkpoint")
    chosen = pick_trials(ledger.records(), pick, trial)
    out = Path(out_dir)
    storage_shown = redact(absolute(storage_url))
    with run_lock(out):
        claim_folder(out, study_name, storage_shown, pick=pick, trial=trial)
        evaluator = None
        if supernet is not None:
            from evosnn.evaluate.reevaluation import study_evaluator

            evaluator = study_evaluator(
                supernet,
                ledger.codec.space,
                recorded=study.evaluation or {},
                energy_target_mj=study.energy_target_mj,
                supernet_sha256=study.supernet_sha256,
                data_root=data_root,
                device=device,
            )
        provenance = {
            "study": study_name,
            "storage": storage_shown,
            "supernet_sha256": study.supernet_sha256,
            "evosnn_version": evosnn.__version__,
            "pick": pick,
        }
        written = []
        for record in chosen:
            config = ledger.codec.decode(record.genome)
            path = out / f"trial-{record.number:05d}.yaml"
            document = _document(record, config, ledger.codec.space, provenance)
            _write_atomic(path, yaml.safe_dump(document, sort_keys=False).encode())
            written.append(path)
            if evaluator is not None:
                from evosnn.evaluate.reevaluation import standalone_weights

                _write_atomic(path.with_suffix(".pt"), standalone_weights(evaluator, config))
                written.append(path.with_suffix(".pt"))
        _warn_unchosen(out, written, pick)
    return written


def _document(
    record: LedgerRecord, config: SubnetConfig, space: SearchSpace, provenance: dict[str, Any]
) -> dict[str, Any]:
    """The exported file of one trial (see the module docstring)."""
    metrics = {
        "accuracy": record.values[0] if record.values else None,
        "energy_mj": record.values[1] if record.values else None,
        **{k: record.attrs.raw.get(k) for k in METRIC_KEYS},
    }
    return {
        "format": EXPORT_FORMAT,
        "config": config.to_dict(),
        "metrics": metrics,
        "provenance": {
            "study": provenance["study"],
            "trial": record.number,
            **{k: v for k, v in provenance.items() if k != "study"},
        },
        "space": space.to_dict(),
    }


def _warn_unchosen(out: Path, written: list[Path], pick: str) -> None:
    """Say which files an earlier export of the same pick left that it no longer chooses (the
    front moved as the search went on); they are kept, never deleted, but not left unsaid."""
    left = [p.name for p in sorted(out.glob("trial-*.yaml")) if p not in written]
    if left:
        log.warning(
            "--out %s also holds %s from an earlier --pick %s export that this one no longer "
            "chooses (kept; delete them, or export into a new folder, for this pick alone)",
            out,
            ", ".join(left),
            pick,
        )


def load_export(path: str | Path) -> Exported:
    """Read an exported architecture file, validating everything (errors name the file)."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: exported architecture file not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a readable YAML file ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ConfigError(f"{path}: not an evosnn architecture file (format {EXPORT_FORMAT!r})")
    for key in ("config", "space"):
        if key not in document:
            raise ConfigError(f"{path}: missing {key!r}")
    space = SearchSpace.from_dict(document["space"], source=f"{path} (space)")
    config = SubnetConfig.from_dict(document["config"], source=f"{path} (config)")
    try:
        config.check_in(space)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    metrics = document.get("metrics") or {}
    provenance = document.get("provenance") or {}
    if not isinstance(metrics, dict) or not isinstance(provenance, dict):
        raise ConfigError(f"{path}: metrics and provenance must be mappings")
    return Exported(path, config, space, metrics, provenance)
