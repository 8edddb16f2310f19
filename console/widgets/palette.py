"""Rich styles taken from the current Textual theme, so table cells follow theme switches."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Styles:
    ok: str
    warning: str
    error: str
    accent: str
    muted: str
    primary: str

    @classmethod
    def of(cls, app) -> "Styles":
        theme = app.current_theme
        dark = theme.dark
        return cls(ok=theme.success or "green", warning=theme.warning or "yellow", error=f"bold {theme.error or 'red'}",
                   accent=theme.accent or "magenta", muted="grey62" if dark else "grey42",
                   primary=theme.primary or "blue")

    def status(self, status: str) -> str:
        return {"running": self.ok, "error": self.error, "created": self.primary}.get(status, self.muted)

    def severity(self, severity: str) -> str:
        return {"finding": f"bold {self.accent}", "unexpected": self.error, "expected": self.warning,
                "transient": self.muted}.get(severity, "")


SEVERITY_LABELS = {"finding": "★ finding", "unexpected": "✖ unexpected", "expected": "! expected",
                   "transient": "~ transient", "info": "i info"}
