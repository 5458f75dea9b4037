"""Plotly figures stored in the study, where optuna-dashboard shows them beside the trials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["FigureStorage"]

T = TypeVar("T")


class FigureStorage:
    """Figure storage of a study's ledger (needs ``study`` and a guarded ``_write``)."""

    study: Any
    _write: Callable[..., Any]

    def save_figure(self, figure_id: str, figure: Any) -> None:
        """Store (overwrite) a plotly figure in the study, where optuna-dashboard shows it."""
        from optuna_dashboard import save_plotly_graph_object

        self._write(
            lambda: save_plotly_graph_object(self.study, figure, graph_object_id=figure_id),
            f"storing figure {figure_id!r}",
        )
