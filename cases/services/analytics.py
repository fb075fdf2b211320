"""Reading board analytics is a read of patient-data aggregates: each page, CSV, register and report is audited."""

from ..models import AuditEvent, Board
from .audit import audit_record


def analytics_read_record(*, by, board: Board, period, view: str, case_ids: list[int] | None = None) -> AuditEvent:
    """After `by` read `view` (the page, a table's CSV, the discordance register, the API) of the board's figures."""
    changes = {"view": view, "from": period.start.isoformat(), "to": period.end.isoformat()}
    if case_ids is not None:
        changes["cases"] = case_ids
    return audit_record(actor=by, action="analytics.view", obj=board, changes=changes)


def board_report_print_record(*, board: Board, by, options: dict) -> AuditEvent:
    """After the quarterly board report PDF was produced for `by`."""
    return audit_record(actor=by, action="analytics.print", obj=board, changes={"document": "board_report", **options})
