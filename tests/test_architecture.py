"""The house by stage (docs/architecture.md): each room imports only the rooms its doors open onto.

    front doors   cli.py, api.py           every room but another front door
    settings.py   the front doors' settings, and the pipeline they configure: check, report
    author/       template checks, regimen listing, calendar: check, read, model
    report/       one renderer per format: model
    check/        knowledge base, catalogue, engines, pipeline: read, model
    read/         bytes to orders: model
    model/        the finding model, the RDF vocabulary and terms, the version: nothing
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "chemo_protovalidate"
NAME = "chemo_protovalidate"

DOORS = {
    "model": set(),
    "read": {"model"},
    "check": {"read", "model"},
    "report": {"model"},
    "author": {"check", "read", "model"},
    "settings": {"check", "report", "read", "model"},
    "serve": {"settings", "report", "check", "read", "model"},
    "cli": {"settings", "author", "report", "check", "read", "model", "serve"},
    "api": {"settings", "report", "check", "read", "model"},
}


def _room(module: str) -> str:
    """The room of a dotted module name under the package: its first part (a top-level module is its own)."""
    return module.split(".")[0]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every package module a file imports, at any depth (a function's deferred import counts too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith(NAME):
            target = node.module[len(NAME) + 1:]
            found += [(node.lineno, target)] if target else [(node.lineno, "")]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: a relative import; the house rule is absolute imports, "
                                 "so that each one shows the room it comes from")
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name[len(NAME) + 1:]) for a in node.names if a.name.startswith(NAME + ".")]
    return found


MODULES = _modules()


def test_every_module_is_in_a_room():
    rooms = {_room(m) for m in MODULES if m}
    assert rooms == set(DOORS), rooms ^ set(DOORS)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m))
def test_each_room_imports_only_through_its_doors(module):
    room = _room(module)
    wrong = [f"line {line}: {target or 'the top level (the API, for users, not for the rooms)'}"
             for line, target in _imports(MODULES[module])
             if _room(target) != room and _room(target) not in DOORS[room]]
    assert not wrong, (f"{MODULES[module].relative_to(PACKAGE.parent)} ({room}/ opens onto "
                       f"{', '.join(sorted(DOORS[room])) or 'nothing'}): " + "; ".join(wrong))


def test_the_model_imports_nothing_of_the_package_but_itself():
    for module, path in MODULES.items():
        if _room(module) == "model":
            assert {_room(t) for _, t in _imports(path)} <= {"model"}, module


def test_the_top_level_exports_only_what_the_api_names():
    """The package's own __init__ imports only the version; the API's names are loaded when first used."""
    imports = {target for _, target in _imports(PACKAGE / "__init__.py")}
    assert imports <= {"model.version", "api", "check.knowledge", "model.findings", "settings"}
