"""The OpenRPC document `rpc.discover` returns, generated from the method table: params come
from the same pydantic models that validate them, results and errors from the table."""
from __future__ import annotations

import copy
from importlib import metadata

from rpcapi.methods import ERRORS, METHOD_LIST, Method

OPENRPC_VERSION = "1.3.2"
_REF_TEMPLATE = "#/components/schemas/{model}"


def api_version() -> str:
    try:
        return metadata.version("frt-stress")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def _error(code: int) -> dict:
    error = ERRORS[code]
    return {"code": code, "message": error.message, "data": {"name": error.name, "meaning": error.meaning}}


def _content_descriptors(method: Method, schemas: dict) -> list[dict]:
    schema = method.params.model_json_schema(ref_template=_REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    descriptors = []
    for name, field_schema in schema.get("properties", {}).items():
        descriptor = {"name": name, "required": name in required, "schema": field_schema}
        if "description" in field_schema:
            descriptor["description"] = field_schema["description"]
        descriptors.append(descriptor)
    return descriptors


def build_document(server_url: str | None = None, methods: list[Method] | None = None) -> dict:
    """The OpenRPC document of the API (every method, in table order)."""
    schemas: dict = {}
    entries = []
    for method in methods or METHOD_LIST:
        entry = {
            "name": method.name,
            "summary": method.summary,
            "paramStructure": "either",
            "params": _content_descriptors(method, schemas),
            "result": {"name": f"{method.name}_result", "schema": copy.deepcopy(method.result)},
            "errors": [_error(code) for code in
                       dict.fromkeys((-32602, *method.errors, -32603))],  # ordered, no duplicates
            "x-state-changing": method.state_changing,
        }
        if method.description:
            entry["description"] = method.description
        entries.append(entry)
    document = {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "frt-stress JSON-RPC API",
            "version": api_version(),
            "description": "Control the FRT stress tester: pools, worker threads, funding, status, findings. "
                           "Amounts are integers in base units within u64. Params may be given by name "
                           "or by position (in the order listed).",
        },
        "methods": entries,
        "components": {"schemas": schemas,
                       "errors": {ERRORS[code].name: _error(code) for code in sorted(ERRORS, reverse=True)}},
    }
    if server_url:
        document["servers"] = [{"name": "frt-stress", "url": server_url}]
    return document
