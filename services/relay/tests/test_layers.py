"""The relay's parts import downwards only (scrollr_relay/__init__.py names them).

A module may import from its own part and from the parts below it, never from one above it or
beside it: the basics (the top-level modules) know no part, the bus knows only the basics, and so
on up to `serve`, which nothing imports. Read from the source with `ast`, imports inside functions
included, so a wrong one is named by file and line without importing anything.
"""

import ast
from pathlib import Path

import scrollr_relay

PACKAGE = Path(scrollr_relay.__file__).parent
ROOT = PACKAGE.name
BASICS = "basics"  # the modules directly in the package: config, metrics, tables, topics, ...
# Bottom to top; parts of one rank are peers, and peers don't import each other either.
RANKS = {BASICS: 0, "bus": 1, "ingest": 2, "accounts": 2, "fanout": 3, "serve": 4}
# `python -m scrollr_relay` starts the command line: it stands on top of every part.
ENTRY_POINTS = {"__main__.py": "serve"}


def part_of_file(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        return relative.parts[0]
    return ENTRY_POINTS.get(relative.name, BASICS)


def part_of_module(dotted: str) -> str | None:
    """The part `dotted` belongs to, or None for a module outside the relay."""
    names = dotted.split(".")
    if names[0] != ROOT:
        return None
    return names[1] if len(names) > 1 and (PACKAGE / names[1]).is_dir() else BASICS


def imported_modules(path: Path, tree: ast.Module) -> list[tuple[int, str]]:
    """Every module the file imports, with its line; `from a import b` counts as `a.b` (b may be one)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the file's own package
                package = [ROOT, *path.relative_to(PACKAGE).parent.parts]
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def wrong_imports(path: Path, source: str) -> list[str]:
    """Each import of `path` that reaches above or beside its own part, named for the failure."""
    own = part_of_file(path)
    problems = []
    for line, module in imported_modules(path, ast.parse(source)):
        other = part_of_module(module)
        if other is None or other == own or RANKS[other] < RANKS[own]:
            continue
        where = "above" if RANKS[other] > RANKS[own] else "beside"
        problems.append(
            f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}: {other} is {where} {own}"
        )
    return problems


def test_every_part_has_a_rank():
    parts = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert parts == set(RANKS) - {BASICS}, "give a new part its rank in RANKS"


def test_no_module_imports_from_a_part_above_or_beside_its_own():
    problems = [
        problem for path in sorted(PACKAGE.rglob("*.py")) for problem in wrong_imports(path, path.read_text())
    ]
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_a_wrong_import_is_named_with_its_file_and_line():
    upward = "from scrollr_relay.config import Settings\nfrom scrollr_relay.serve.app import create_app\n"
    assert wrong_imports(PACKAGE / "bus" / "memory.py", upward) == [
        "scrollr_relay/bus/memory.py:2 imports scrollr_relay.serve.app.create_app: serve is above bus"
    ]
    sideways = "from ..accounts import tickets\n"
    assert wrong_imports(PACKAGE / "ingest" / "webhook.py", sideways) == [
        "scrollr_relay/ingest/webhook.py:1 imports scrollr_relay.accounts.tickets: accounts is beside ingest"
    ]
    assert wrong_imports(PACKAGE / "metrics.py", "from scrollr_relay import bus\n") == [
        "scrollr_relay/metrics.py:1 imports scrollr_relay.bus: bus is above basics"
    ]
