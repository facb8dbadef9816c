"""``GET /docs``: the API's reference as one self-contained HTML page, rendered from its
OpenAPI schema. Pure: schema in, text out.

FastAPI's own /docs and /redoc pages load their scripts, stylesheets and fonts from a CDN, and
sites running rodrunner are often offline. This page loads nothing, not even from this host:
no script, inline style, one link to ``/openapi.json`` for tools that want the schema.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_docs"]

_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.op { margin: 1.5em 0; }
.method { display: inline-block; min-width: 4em; font-weight: bold; }
code, .path { font-family: monospace; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
"""


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    return str(schema.get("type", "object"))


def _parameters(op: dict[str, Any]) -> str:
    rows = []
    for param in op.get("parameters", []):
        rows.append(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                escape(str(param.get("name", ""))),
                escape(str(param.get("in", ""))),
                "yes" if param.get("required") else "no",
                escape(str(param.get("description", ""))),
            )
        )
    if not rows:
        return ""
    head = "<tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _body(op: dict[str, Any]) -> str:
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if not isinstance(schema, dict):
        return ""
    return f"<p>JSON body: <code>{escape(_ref_name(schema))}</code> (see the schemas below)</p>"


def _responses(op: dict[str, Any]) -> str:
    items = [
        f"<li><b>{escape(str(code))}</b> {escape(str(answer.get('description', '')))}</li>"
        for code, answer in op.get("responses", {}).items()
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    secured = " (bearer token)" if op.get("security") else ""
    return (
        '<div class="op">'
        f'<h3><span class="method">{escape(method.upper())}</span> '
        f'<span class="path">{escape(path)}</span>{secured}</h3>'
        f"<p><b>{escape(str(op.get('summary', '')))}</b></p>"
        f"<p>{escape(str(op.get('description', '')))}</p>"
        f"{_parameters(op)}{_body(op)}{_responses(op)}"
        "</div>"
    )


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(field),
            escape(_ref_name(spec) if "$ref" in spec else str(spec.get("type", "any"))),
            "yes" if field in required else "no",
            escape(str(spec.get("description", ""))),
        )
        for field, spec in schema.get("properties", {}).items()
    ]
    head = "<tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>"
    table = f"<table>{head}{''.join(rows)}</table>" if rows else ""
    return f"<h3 id='{escape(name)}'><code>{escape(name)}</code></h3>" + (
        f"<p>{escape(str(schema.get('description', '')))}</p>{table}"
    )


def render_docs(schema: dict[str, Any], openapi_url: str) -> str:
    """The reference page of ``schema`` (an OpenAPI document), linking to ``openapi_url``."""
    info = schema.get("info", {})
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    operations = [
        _operation(path, method, op)
        for path, methods in schema.get("paths", {}).items()
        for method, op in methods.items()
        if isinstance(op, dict)
    ]
    schemas = [
        _schema(name, spec)
        for name, spec in schema.get("components", {}).get("schemas", {}).items()
        if isinstance(spec, dict)
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1><p>{escape(str(info.get('description', '')))}</p>"
        f"<p>The OpenAPI schema: <a href='{escape(openapi_url)}'>{escape(openapi_url)}</a></p>"
        f"<h2>Routes</h2>{''.join(operations)}"
        f"<h2>Schemas</h2>{''.join(schemas)}"
        "</body></html>"
    )
