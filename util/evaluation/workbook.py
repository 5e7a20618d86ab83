"""The tables' xlsx files: the table's sheets first, an ``about`` sheet last, written atomically."""

from __future__ import annotations

import json

import pandas as pd

from util.files import atomic_path

ABOUT_SHEET = "about"


def about_frame(items: dict) -> pd.DataFrame:
    """An ``about`` sheet: two columns, ``item`` and ``value`` (dicts and lists as JSON)."""
    def text(value):
        if isinstance(value, (dict, list, tuple)):
            return json.dumps(value, default=str, ensure_ascii=False)
        return "" if value is None else value
    return pd.DataFrame({"item": list(items), "value": [text(v) for v in items.values()]})


def write_workbook(path: str, sheets: dict[str, pd.DataFrame], about: dict) -> str:
    """Write the sheets (in order) and a last ``about`` sheet to ``path``, atomically; returns ``path``."""
    with atomic_path(path) as temp, pd.ExcelWriter(temp, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
        about_frame(about).to_excel(writer, sheet_name=ABOUT_SHEET, index=False)
    return path


def read_workbook(path: str) -> dict[str, pd.DataFrame]:
    """Every sheet of a table written by :func:`write_workbook`, by name."""
    return pd.read_excel(path, sheet_name=None, engine="openpyxl")
