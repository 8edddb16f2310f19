"""Logging while the TUI runs: to `<data_dir>/logs/console.log` and to an in-memory buffer the
log view reads — never to the terminal under the TUI."""
from __future__ import annotations

import logging
import logging.handlers
from collections import deque
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class LogBuffer(logging.Handler):
    """The last `capacity` formatted records; `sequence` counts every record ever seen, so a
    viewer can ask for what is new since it last looked (thread-safe: deque appends are)."""

    def __init__(self, capacity: int = 2000, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.lines: deque[tuple[int, str, int]] = deque(maxlen=capacity)  # (sequence, text, levelno)
        self.sequence = 0
        self.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record must not break the console
            text = f"{record.levelname} {record.name}: {record.msg!r}"
        self.sequence += 1
        self.lines.append((self.sequence, text, record.levelno))

    def since(self, sequence: int) -> list[tuple[int, str, int]]:
        return [line for line in list(self.lines) if line[0] > sequence]


def configure_logging(data_dir: Path, level: str = "INFO") -> tuple[LogBuffer, Path]:
    """Route the root logger to the log file and a LogBuffer only (terminal handlers removed)."""
    path = Path(data_dir) / "logs" / "console.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 * 2**20, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    buffer = LogBuffer()
    root.addHandler(file_handler)
    root.addHandler(buffer)
    root.setLevel(level)
    logging.captureWarnings(True)
    for noisy in ("asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return buffer, path
