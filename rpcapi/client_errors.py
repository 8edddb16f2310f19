"""How the API logs what clients got wrong: one line per client error, never a traceback.
Tracebacks are for the server's own bugs (HTTP 5xx, JSON-RPC Internal error)."""
from __future__ import annotations

import logging
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

log = logging.getLogger("rpcapi.client_errors")
_MAX_TEXT = 200


def one_line(text: Any) -> str:
    """`text` on one line (newlines and runs of blanks collapsed), at most 200 characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _MAX_TEXT else flat[:_MAX_TEXT] + "…"


def log_client_error(client: str | None, status: int, what: str, message: str) -> None:
    """One line for a refused request (`status` = HTTP status) or call (`what` its method or the
    JSON-RPC error's name)."""
    log.info("client error from %s: HTTP %d %s: %s", client or "?", status, one_line(what), one_line(message))


def is_client_error(exc: BaseException | None) -> bool:
    """Errors that a client causes: a malformed HTTP request, a malformed body, a dropped connection."""
    if isinstance(exc, HttpProcessingError):
        return 400 <= (exc.code or 400) < 500
    return isinstance(exc, (RequestPayloadError, ConnectionError))


class HttpServerLog:
    """The logger given to aiohttp's request handler (AppRunner(logger=...)): aiohttp logs a
    request it could not parse, or a client that went away, with logger.exception(); those
    become one line here, while anything else keeps its traceback."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def exception(self, msg: str, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info is True else None
        if is_client_error(exc):
            self._logger.info(f"{msg}: %s", *args, one_line(exc) or type(exc).__name__)
        else:
            self._logger.error(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: str, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if exc is not None and is_client_error(exc):
            self._logger.debug(f"{msg}: %s", *args, one_line(exc))
        else:
            self._logger.debug(msg, *args, exc_info=exc_info, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)
