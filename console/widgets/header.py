"""The header bar: chain mode, program id, core wallet SOL, uptime, API address, totals,
throughput, thread counts, refresh rate and view state.

Two lines that never wrap: each line is a list of parts, each part with an importance and its
forms from longest to shortest (the shortest may be empty). While a line is wider than the bar,
the least important part that can still shrink takes its next form; what is still too wide then
ends with an ellipsis. At 80 columns the program id and the pool count go first, the totals
(ops, ✔, ✖, ★, ops/s, thread counts) stay."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from rich.text import Text
from textual.widgets import Static

from console import formatting as fmt
from console.widgets.palette import Styles


@dataclass
class Part:
    importance: int  # higher: kept longer
    forms: list[Text]  # longest first


def part(importance: int, *forms: Text | list[tuple[str, str]] | str) -> Part:
    texts = []
    for form in forms:
        if isinstance(form, Text):
            texts.append(form)
        elif isinstance(form, str):
            texts.append(Text(form))
        else:
            texts.append(Text.assemble(*form))
    return Part(importance, texts)


def fit_line(parts: list[Part], width: int | None) -> Text:
    """The parts in order, shortened (least important first) to fit `width` cells."""
    chosen = [0] * len(parts)

    def assembled() -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for index, item in enumerate(parts):
            line.append_text(item.forms[chosen[index]])
        return line

    line = assembled()
    while width is not None and width > 0 and line.cell_len > width:
        shrinkable = [index for index, item in enumerate(parts) if chosen[index] < len(item.forms) - 1]
        if not shrinkable:
            line.truncate(width, overflow="ellipsis")
            break
        index = min(shrinkable, key=lambda i: (parts[i].importance, -i))
        chosen[index] += 1
        line = assembled()
    return line


def api_forms(address: str) -> list[str]:
    """'127.0.0.1:8080' -> ['127.0.0.1:8080', ':8080'] (a local host need not be spelled out)."""
    host, _, port = address.rpartition(":")
    return [address, f":{port}"] if host in ("127.0.0.1", "localhost", "0.0.0.0") and port else [address]


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 2; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("FRT stress console — connecting …", **kwargs)
        self._last: tuple | None = None
        self._lines: list[list[Part]] | None = None

    def show(self, engine: dict | None, gateway: dict, *, throughput: float | None, refresh_hz: float,
             paused: bool, problem: str | None = None) -> None:
        key = (repr(engine), repr(gateway), throughput, refresh_hz, paused, problem, self.app.theme,
               round(getattr(self.app.refresher, "effective_hz", refresh_hz), 1))
        if key == self._last:
            return
        self._last = key
        self._lines = self.compose_parts(engine, gateway, throughput, refresh_hz, paused, problem)
        self.refresh()

    def render(self):
        if self._lines is None:
            return super().render()
        return self.fitted(self.content_size.width or None)

    def fitted(self, width: int | None) -> Text:
        """The header's lines, each within `width` cells."""
        text = Text(no_wrap=True, overflow="ellipsis")
        for number, parts in enumerate(self._lines or []):
            if number:
                text.append("\n")
            text.append_text(fit_line(parts, width))
        return text

    def compose_text(self, engine: dict | None, gateway: dict, throughput: float | None, refresh_hz: float,
                     paused: bool, problem: str | None, width: int | None = None) -> Text:
        self._lines = self.compose_parts(engine, gateway, throughput, refresh_hz, paused, problem)
        return self.fitted(width)

    def compose_parts(self, engine: dict | None, gateway: dict, throughput: float | None, refresh_hz: float,
                      paused: bool, problem: str | None) -> list[list[Part]]:
        styles = Styles.of(self.app)
        muted = styles.muted
        if engine is None:
            return [[part(100, [("FRT stress console ", "bold")]),
                     part(90, [(problem or "connecting …", styles.warning if problem else muted)])]]
        label, level = fmt.chain_label(engine.get("mode", "?"), engine.get("url"))
        first = [part(100, [("◆ ", styles.primary), (label, {"ok": "bold", "warning": f"bold reverse {styles.warning}",
                                                             "error": f"bold reverse {styles.error}"}[level])])]
        first.append(part(30, [("  prog ", muted), (fmt.short_id(engine.get("program_id")), "")], ""))
        core = f"{fmt.sol(engine.get('core_lamports'))} SOL"
        first.append(part(70, [("  core ", muted), (core, "")], [("  ", ""), (core, "")]))
        first.append(part(50, [("  up ", muted), (fmt.duration(engine.get("uptime_seconds")), "")], ""))
        if gateway.get("kind") == "remote":
            url = str(gateway.get("url"))
            forms = [[("  remote ", muted), (url, "")]]
            if urlparse(url).netloc and urlparse(url).netloc != url:
                forms.append([("  remote ", muted), (urlparse(url).netloc, "")])
            forms.append([("  remote", muted)])
            first.append(part(80, *forms))
        elif gateway.get("api_url"):
            address = str(gateway["api_url"]).removeprefix("http://").removesuffix("/rpc")
            first.append(part(40, *[[("  API ", muted), (form, "")] for form in api_forms(address)], ""))
        elif gateway.get("api_problem"):
            first.append(part(40, [("  API off", styles.warning)], ""))

        findings = engine.get("findings") or 0
        second = [part(100, [("ops ", muted), (fmt.count(engine.get("operations")), ""),
                             ("  ✔ ", styles.ok), (fmt.count(engine.get("ok")), ""),
                             ("  ✖ ", styles.error), (fmt.count(engine.get("failed")), ""),
                             ("  ★ ", styles.accent),
                             (fmt.count(findings), f"bold {styles.accent}" if findings else "")])]
        rate = "–" if throughput is None else f"{throughput:,.1f}"
        second.append(part(90, [("  │ ", muted), (rate, ""), (" ops/s", muted)],
                           [("  ", ""), (rate, ""), (" ops/s", muted)]))
        threads = engine.get("threads") or {}
        counts = (f"▶{threads.get('running_threads', 0)} ■{threads.get('stopped_threads', 0)} "
                  f"○{threads.get('created_threads', 0)} ")
        errors = (f"✖{threads.get('error_threads', 0)}", styles.error if threads.get("error_threads") else "")
        second.append(part(85, [("  │ ", muted), (counts, ""), errors], [("  ", ""), (counts, ""), errors]))
        pools = engine.get("pools", 0)
        second.append(part(30, [(f"  {fmt.plural(pools, 'pool')}", muted)], ""))
        effective = getattr(self.app.refresher, "effective_hz", refresh_hz)
        hz = f"{refresh_hz:g} Hz"
        if effective < refresh_hz - 0.05:
            second.append(part(20, [("  │ ", muted), (f"{hz} (now {effective:.1f}: CPU budget)", muted)],
                               [("  │ ", muted), (f"{hz} (now {effective:.1f})", muted)], ""))
        else:
            second.append(part(20, [("  │ ", muted), (hz, muted)], ""))
        if paused:
            second.append(part(95, [("  ⏸ PAUSED", f"bold reverse {styles.warning}")]))
        if problem:
            second.append(part(95, [("  ⚠ ", styles.error), (problem, styles.error)]))
        return [first, second]
