"""The header bar: chain mode, program id, core wallet SOL, uptime, API address, totals,
throughput, thread counts, refresh rate and view state."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console import formatting as fmt
from console.widgets.palette import Styles


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: 2; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("FRT stress console — connecting …", **kwargs)
        self._last: tuple | None = None

    def show(self, engine: dict | None, gateway: dict, *, throughput: float | None, refresh_hz: float,
             paused: bool, problem: str | None = None) -> None:
        key = (repr(engine), repr(gateway), throughput, refresh_hz, paused, problem, self.app.theme,
               round(getattr(self.app.refresher, "effective_hz", refresh_hz), 1))
        if key == self._last:
            return
        self._last = key
        self.update(self.compose_text(engine, gateway, throughput, refresh_hz, paused, problem), layout=False)

    def compose_text(self, engine: dict | None, gateway: dict, throughput: float | None, refresh_hz: float,
                     paused: bool, problem: str | None) -> Text:
        styles = Styles.of(self.app)
        text = Text(no_wrap=True, overflow="ellipsis")
        if engine is None:
            text.append("FRT stress console ", style="bold")
            text.append(problem or "connecting …", style=styles.warning if problem else styles.muted)
            return text
        label, level = fmt.chain_label(engine.get("mode", "?"), engine.get("url"))
        text.append("◆ ", style=styles.primary)
        text.append(label, style={"ok": "bold", "warning": f"bold reverse {styles.warning}",
                                  "error": f"bold reverse {styles.error}"}[level])
        text.append("  prog ", style=styles.muted)
        text.append(fmt.short_id(engine.get("program_id")))
        text.append("  core ", style=styles.muted)
        text.append(f"{fmt.sol(engine.get('core_lamports'))} SOL")
        text.append("  up ", style=styles.muted)
        text.append(fmt.duration(engine.get("uptime_seconds")))
        if gateway.get("kind") == "remote":
            text.append("  remote ", style=styles.muted)
            text.append(str(gateway.get("url")))
        elif gateway.get("api_url"):
            text.append("  API ", style=styles.muted)
            text.append(str(gateway["api_url"]).removeprefix("http://").removesuffix("/rpc"))
        elif gateway.get("api_problem"):
            text.append("  API off", style=styles.warning)
        text.append("\n")
        text.append("ops ", style=styles.muted)
        text.append(fmt.count(engine.get("operations")))
        text.append("  ✔ ", style=styles.ok)
        text.append(fmt.count(engine.get("ok")))
        text.append("  ✖ ", style=styles.error)
        text.append(fmt.count(engine.get("failed")))
        findings = engine.get("findings") or 0
        text.append("  ★ ", style=styles.accent)
        text.append(fmt.count(findings), style=f"bold {styles.accent}" if findings else "")
        text.append("  │ ", style=styles.muted)
        text.append("–" if throughput is None else f"{throughput:,.1f}")
        text.append(" ops/s", style=styles.muted)
        threads = engine.get("threads") or {}
        text.append("  │ ", style=styles.muted)
        text.append(f"▶{threads.get('running_threads', 0)} ■{threads.get('stopped_threads', 0)} "
                    f"○{threads.get('created_threads', 0)} ")
        text.append(f"✖{threads.get('error_threads', 0)}",
                    style=styles.error if threads.get("error_threads") else "")
        text.append(f"  {engine.get('pools', 0)} pools", style=styles.muted)
        text.append("  │ ", style=styles.muted)
        effective = getattr(self.app.refresher, "effective_hz", refresh_hz)
        text.append(f"{refresh_hz:g} Hz" + (f" (now {effective:.1f}: CPU budget)" if effective < refresh_hz - 0.05
                                           else ""), style=styles.muted)
        if paused:
            text.append("  ⏸ PAUSED", style=f"bold reverse {styles.warning}")
        if problem:
            text.append(f"  ⚠ {problem}", style=styles.error)
        return text
