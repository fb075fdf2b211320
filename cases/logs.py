"""Structured logs: with TUMORBOARD_LOG_FORMAT=json every line is one JSON object carrying the request id
(the X-Request-ID the response also carries), so lines of several app servers can be joined per request.

Log messages hold no patient identifier: the app logs paths without query strings and ids, never names
(tests/test_logs.py reads the logs of the demo journey for identifiers).
"""

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

from django.core.signals import request_finished

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("tumorboard_log_request_id", default="")


def _forget_request_id(**kwargs) -> None:
    request_id.set("")


request_finished.connect(_forget_request_id, dispatch_uid="tumorboard-log-request-id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class WithoutQueryString(logging.Filter):
    """runserver's request lines (django.server) with the query string cut off: `?search=<MRN>` stays out."""

    def filter(self, record: logging.LogRecord) -> bool:
        # WSGIRequestHandler.log_message: '"%s" %s %s' with the request line as the first argument.
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (re.sub(r"\?[^ ]*", "", record.args[0], count=1), *record.args[1:])
        return True
