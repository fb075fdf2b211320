"""Reading board analytics is a read of patient-data aggregates: each page, CSV, register and report is audited."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import models

from ..models import AuditEvent, Board
from ..types import User
from .audit import audit_list, audit_record

if TYPE_CHECKING:
    from ..analytics.metrics import Period


def analytics_read_record(
    *,
    by: User,
    board: Board,
    period: "Period",
    view: str,
    query: Mapping[str, Any] | None = None,
    rows: Sequence[models.Model] | None = None,
) -> AuditEvent:
    """After `by` read `view` (the page, a table's CSV, the discordance register, the API) of the board's figures.

    Figures name no one; a view that lists rows (the discordance register, its CSV) records the query and the ids
    of the rows, patients and cases it returned.
    """
    changes = {"view": view, "from": period.start.isoformat(), "to": period.end.isoformat()}
    if rows is None:
        return audit_record(actor=by, action="analytics.view", obj=board, changes=changes)
    return audit_list(
        actor=by,
        action="analytics.view",
        query=query,
        rows=rows,
        object_type="board",
        object_id=board.pk,
        extra=changes,
    )


def board_report_print_record(*, board: Board, by: User, options: Mapping[str, Any]) -> AuditEvent:
    """After the quarterly board report PDF was produced for `by`."""
    return audit_record(actor=by, action="analytics.print", obj=board, changes={"document": "board_report", **options})
