"""The documented example configuration, generated from the settings tree itself.

Each setting's docstring in ``store/config.py`` becomes the comment above its key, so the
example file and ``trident-scim config example`` can never drift from the code.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import fields
from typing import Any

from store import config as config_module
from store.config import Settings

HEADER = """\
# TridentStack Control SCIM provisioning: configuration.
# Copy to config.toml (or point $TRIDENT_SCIM_CONFIG or --config at it) and edit.
# Every key is optional; the values below are the built-in defaults.
"""


def _field_docs() -> dict[str, dict[str, str]]:
    """class name -> field name -> docstring, read from the settings module's source."""
    tree = ast.parse(inspect.getsource(config_module))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        found: dict[str, str] = {}
        body = node.body
        for current, following in zip(body, body[1:], strict=False):
            if (
                isinstance(current, ast.AnnAssign)
                and isinstance(current.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                found[current.target.id] = " ".join(following.value.value.split())
        docs[node.name] = found
    return docs


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _wrap(text: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return [f"# {line}" for line in lines] or ["#"]


def example_config(settings: Settings | None = None) -> str:
    """A complete, commented TOML document with the given (default) values."""
    settings = settings or Settings()
    docs = _field_docs()
    out = [HEADER]
    for section in fields(Settings):
        if section.name == "source":
            continue
        group = getattr(settings, section.name)
        out.append(f"[{section.name}]")
        for item in fields(group):
            doc = docs.get(type(group).__name__, {}).get(item.name, item.name)
            out.extend(_wrap(doc))
            out.append(f"{item.name} = {toml_value(getattr(group, item.name))}")
        out.append("")
    return "\n".join(out)
