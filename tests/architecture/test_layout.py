"""The shape of ``util``: each layer imports only the layers below it; modules and functions stay short."""

import ast
import os

import pytest
from conftest import ROOT

UTIL = os.path.join(ROOT, "util")
BASE = {"util", "errors", "files"}                   # util itself: __version__
# Each part of util and the parts it may import (besides itself and BASE).
ALLOWED = {
    "errors": set(),
    "files": set(),
    "lpips_weights": set(),
    "metrics": {"lpips_weights"},
    "signal": set(),
    "cli": {"signal"},
    "labels": {"signal"},
    "gan": {"signal", "labels", "metrics", "cli"},
    "recording": {"signal", "labels", "metrics", "cli", "gan"},
    "synth": {"signal", "labels", "metrics", "cli"},
    "evaluation": {"signal", "labels", "metrics", "cli", "gan", "recording", "synth"},
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def util_modules() -> list[str]:
    paths = []
    for folder, _, names in os.walk(UTIL):
        paths += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    return sorted(paths)


def part_of(path: str) -> str:
    """'util/gan/model.py' -> 'gan'; 'util/files.py' -> 'files'; 'util/__init__.py' -> 'util'."""
    relative = os.path.relpath(path, UTIL).split(os.sep)
    return "util" if relative == ["__init__.py"] else os.path.splitext(relative[0])[0]


def util_imports(path: str) -> set[str]:
    """The parts of util a module imports (absolute ``util.X`` imports and relative ones)."""
    parts = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts.add(part_of(path) if node.level == 1 and os.path.dirname(path) != UTIL else
                      (node.module or "util").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "util":
            names = node.module.split(".")
            parts.update([names[1]] if len(names) > 1 else
                         [a.name if a.name in ALLOWED else "util" for a in node.names])   # util.__version__
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("util."))
    return parts


def test_every_part_of_util_is_known_to_the_layering():
    assert {part_of(p) for p in util_modules()} - {"util"} == set(ALLOWED)


@pytest.mark.parametrize("path", util_modules(), ids=lambda p: os.path.relpath(p, ROOT))
def test_module_imports_only_lower_layers(path):
    part = part_of(path)
    allowed = BASE | {part} | (set().union(*ALLOWED.values()) | set(ALLOWED) if part == "util" else ALLOWED[part])
    assert util_imports(path) <= allowed, f"{part} may import only {sorted(allowed)}"


@pytest.mark.parametrize("path", util_modules(), ids=lambda p: os.path.relpath(p, ROOT))
def test_module_and_its_functions_are_short(path):
    text = open(path, encoding="utf-8").read()
    assert text.count("\n") <= MAX_MODULE_LINES
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_the_layering_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "model.py"
    module.write_text("from util.evaluation.run import run_evaluation\nfrom util.files import LEVELS\n")
    assert util_imports(str(module)) == {"evaluation", "files"}


def test_test_files_have_unique_names():
    """pytest imports test files by base name (the test folders are not packages): two files of one name
    in different folders stop the whole collection."""
    names = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "tests")):
        for name in files:
            if name.startswith("test_") and name.endswith(".py"):
                names.setdefault(name, []).append(os.path.relpath(os.path.join(folder, name), ROOT))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
