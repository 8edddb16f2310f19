"""Per-core CPU gauges and memory (psutil, or the remote engine's figures)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.widgets.palette import Styles

_BLOCKS = " ▁▂▃▄▅▆▇█"


def bar(percent: float, width: int) -> str:
    filled = max(0.0, min(1.0, percent / 100)) * width
    whole = int(filled)
    return "█" * whole + ("▌" if filled - whole >= 0.5 and whole < width else "") + \
        "░" * (width - whole - (1 if filled - whole >= 0.5 and whole < width else 0))


class CpuGauges(Static):
    DEFAULT_CSS = """
    CpuGauges { height: auto; max-height: 9; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("cpu …", **kwargs)
        self._last: tuple | None = None

    def show(self, resources: dict) -> None:
        width = max(10, self.size.width - 2) if self.size.width else 30
        cores = [round(value) for value in resources.get("cpu_percent_per_core") or []]
        key = (tuple(cores), resources.get("memory_rss_bytes"), resources.get("memory_percent"), width,
               self.app.theme)
        if key == self._last:
            return
        self._last = key
        text = self.render_text(cores, resources, width)
        lines = len(text.plain.splitlines())
        if self.styles.height is None or self.styles.height.value != lines:
            self.styles.height = lines  # explicit: auto height lags behind updates
            self.update(text)
        else:
            self.update(text, layout=False)

    def render_text(self, cores: list[int], resources: dict, width: int) -> Text:
        styles = Styles.of(self.app)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("CPU ", style="bold")
        average = sum(cores) / len(cores) if cores else 0.0
        text.append(f"{average:.0f}% avg of {len(cores)}\n", style=styles.muted)
        label_width = len(str(max(len(cores) - 1, 0)))
        gauge_width = width - label_width - 7
        if cores and len(cores) <= 8 and gauge_width >= 6:
            for index, percent in enumerate(cores):
                style = styles.error if percent >= 90 else styles.warning if percent >= 70 else styles.ok
                text.append(f"{index:>{label_width}} ", style=styles.muted)
                text.append(bar(percent, gauge_width), style=style)
                text.append(f" {percent:>3}%\n")
        elif cores:  # many cores: one block character per core
            line = "".join(_BLOCKS[min(8, round(p / 12.5))] for p in cores)
            for start in range(0, len(line), max(1, width)):
                text.append(line[start:start + width] + "\n", style=styles.ok)
        rss = resources.get("memory_rss_bytes")
        text.append("mem ", style="bold")
        text.append("–" if rss is None else f"{rss / 2**20:,.0f} MiB RSS")
        if resources.get("memory_percent") is not None:
            text.append(f" · system {resources['memory_percent']:.0f}%", style=styles.muted)
        return text
