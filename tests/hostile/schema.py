"""The API as its OpenAPI schema describes it: every operation, and the kind of each field it reads.

The API tests are parametrized from OPERATIONS, so a new operation is judged (or fails for want of an
entry in tests/hostile/api_operations.py) without anyone listing it.
"""

from drf_spectacular.generators import SchemaGenerator

from tests.hostile import payloads as hc

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = {
    op["operationId"]: (method.upper(), path, op)
    for path, ops in SCHEMA["paths"].items()
    for method, op in ops.items()
    if isinstance(op, dict) and "operationId" in op
}
WRITE_OPERATIONS = sorted(op_id for op_id, (method, _, _) in OPERATIONS.items() if method != "GET")
READ_OPERATIONS = sorted(op_id for op_id, (method, _, _) in OPERATIONS.items() if method == "GET")


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:  # e.g. oneOf [PerformanceStatusEnum, NullEnum]: the first says what it is
            return resolve(schema[key][0])
    return schema


ID_NAMES = {"board", "patient", "case", "meeting", "user", "owner", "presenter", "item", "participants", "items"}


def kind_of(name: str, prop: dict) -> str:
    prop = resolve(prop)
    if "enum" in prop:
        return hc.CHOICE
    kind = prop.get("type")
    fmt = prop.get("format", "")
    if kind == "array":
        return hc.OBJECT if resolve(prop.get("items", {})).get("type") == "object" else hc.MULTI
    if kind == "integer":
        return hc.ID if name in ID_NAMES else hc.INT
    if kind == "boolean":
        return hc.BOOL
    if kind == "string":
        formats = {"date": hc.DATE, "date-time": hc.DATETIME, "email": hc.EMAIL, "uri": hc.URL, "binary": hc.FILE}
        return formats.get(fmt, hc.TEXT)
    return hc.OBJECT


def request_fields(op: dict) -> dict:
    """{field: (kind, maxLength)} of the operation's request body."""
    content = op.get("requestBody", {}).get("content", {})
    body = content.get("application/json") or content.get("multipart/form-data")
    if not body:
        return {}
    schema = resolve(body["schema"])
    return {
        name: (kind_of(name, prop), resolve(prop).get("maxLength"))
        for name, prop in schema.get("properties", {}).items()
        if not resolve(prop).get("readOnly")
    }


def query_kinds(op: dict) -> dict:
    """{parameter: (kind, maxLength)} of the operation's query string."""
    return {
        p["name"]: (kind_of(p["name"], p.get("schema", {})), resolve(p.get("schema", {})).get("maxLength"))
        for p in op.get("parameters", [])
        if p["in"] == "query"
    }
