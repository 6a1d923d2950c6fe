"""Imports run one way: storage ← the kernel ← the packages of bot/ ← handlers ← bot.app.

Every import of bot/, handlers/ and storage/ is read from the source (those under
TYPE_CHECKING too, since a cycle there is still a cycle for a reader), and checked for cycles
and against the layers below. A package may import its own layer and the layers under it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
# Lowest first. The kernel is what every package shares; requests, volunteers and activities
# share a layer while a registration's (or a theme dialog's) messages are routed by the request
# form's conversation. The files the config reads are checked below the kernel: the area tree,
# the themes file, and the length of a text as Telegram counts it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.areas", "bot.lengths", "bot.activities.themes_file", "bot.supervision.registers"),
    ("storage",),
    ("bot.config", "bot.i18n", "bot.locales", "bot.context", "bot.buttons", "bot.ui",
     "bot.dialogs", "bot.unit", "bot.logs", "bot.moves", "bot.night"),
    ("bot.people",),
    ("bot.requests", "bot.volunteers", "bot.activities", "bot.supervision"),
    ("bot.schedule", "bot.delivery"),
    ("bot.console", "bot.reports", "bot.ops", "bot.web"),
    ("bot.wiring",),
    ("handlers",),
    ("bot.app",),
    ("bot.__main__",),
)


def module_name(path: Path) -> str:
    """bot/requests/loop.py → bot.requests.loop; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    """Every module of our packages, by dotted name."""
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Our modules that a module imports (a `from package import module` names the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in known)
    return found


def graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports."""
    modules = our_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest prefix that names the module."""
    best, index = -1, -1
    for n, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), n
    return index


def test_every_module_belongs_to_a_layer() -> None:
    """A new package is given its place in LAYERS (and its __init__ says what it may import)."""
    assert [m for m in graph() if layer_of(m) < 0 and m != "bot"] == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    """storage imports nothing of bot/ or handlers/; the loops do not import the delivery,
    the reports or the composition root; only bot.app imports handlers/."""
    upward = sorted(f"{module} → {imported}" for module, imported_set in graph().items()
                    if module != "bot" for imported in imported_set
                    if layer_of(imported) > layer_of(module))
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    """Follow every import: no module comes back to itself."""
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(edges.get(module, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_check_sees_a_cycle_when_there_is_one() -> None:
    """The reader of imports is not blind: handlers.common does import bot.wiring (under
    TYPE_CHECKING), and bot.app imports handlers."""
    edges = graph()
    assert "bot.wiring" in edges["handlers.common"]
    assert "handlers.routes" in edges["bot.app"]
    assert "storage.repo" in edges["storage.db"]
