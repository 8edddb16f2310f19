"""Coverage of the contract's behaviour: per instruction, what the run sent, how the contract
answered (success and each error by name and code), and the errors the model says it could have
answered but never did. Built from get_engine_status totals, like the run report's section."""
from __future__ import annotations

from engine.coverage import build_coverage
from console.screens.detail_base import DetailScreen
from console.widgets.detail import records

_NO_CODE = "–"


class CoverageScreen(DetailScreen):
    def __init__(self) -> None:
        super().__init__("Coverage of the contract's behaviour")

    async def load(self, gateway) -> list:
        status = await gateway.get_engine_status()
        coverage = self.data = build_coverage(status.get("totals") or {})
        instructions = [op | {"failed": op["sent"] - op["succeeded"],
                              "errors_exercised": f"{op['exercised']} of {op['reachable']}",
                              "never_provoked": ", ".join(e["name"] for e in op["not_seen"]) or "–"}
                        for op in coverage["operations"]]
        answered = [error | {"operation": op["operation"], "code": _code(error),
                             "predicted": "yes" if error["reachable"] else "no"}
                    for op in coverage["operations"] for error in op["errors"]]
        return [
            records("Instructions", instructions,
                    [("operation", "Instruction"), ("sent", "Sent"), ("succeeded", "OK"), ("failed", "Failed"),
                     ("errors_exercised", "Errors exercised"), ("never_provoked", "Reachable, never provoked")]),
            records("Errors answered", answered,
                    [("operation", "Instruction"), ("name", "Error"), ("code", "Code"), ("count", "Count"),
                     ("predicted", "Reachable per the model")], empty="(no error yet)"),
        ]

    def status_line(self) -> str:
        coverage = self.data or {"exercised": 0, "reachable": 0}
        return (f"errors exercised: {coverage['exercised']} of {coverage['reachable']} reachable · "
                "Esc back · R reload")


def _code(error: dict) -> str:
    if error["code"] is None:
        return _NO_CODE
    return str(error["code"]) if error["program"] == "frt" else f"{error['program']} {error['code']}"
