"""The package's shape: rooms by concern, imports only downward, no circles, no private imports.

Every import counts, lazy ones inside functions and TYPE_CHECKING ones included: a circle that
only a deferred import keeps from crashing is still a circle for the reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "item2vec"
GROUND = {"errors", "files", "extras", "render", "version"}
# A room may import rooms of a lower rank and itself; rooms of one rank may not import each other.
RANK = {
    "ground": 0,
    "corpus": 1,
    "model": 1,
    "training": 2,
    "export": 2,
    "query": 3,
    "evaluation": 4,
    "visual": 5,
    "api": 6,  # item2vec/__init__.py (the public Python API) and item2vec/api/
    "cli": 7,
    "main": 8,  # python -m item2vec
}
Graph = dict[str, dict[str, list[str]]]  # module -> imported module -> names


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> Graph:
    """Every intra-package import of every module under ``root`` (a package directory)."""
    graph: Graph = {}
    top = root.name
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        edges: dict[str, list[str]] = graph.setdefault(name, {})
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == top or node.module.startswith(top + "."):
                    edges.setdefault(node.module, []).extend(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == top or alias.name.startswith(top + "."):
                        edges.setdefault(alias.name, [])
    return graph


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    if parts[1] in GROUND:
        return "ground"
    if parts[1] == "__main__":
        return "main"
    return parts[1]


def violations(graph: Graph) -> list[str]:
    """Upward or sideways imports between rooms, unknown rooms, and private names across modules."""
    found = []
    for source, edges in graph.items():
        for target, names in edges.items():
            a, b = room(source), room(target)
            if a not in RANK or b not in RANK:
                found.append(f"{source}: room {a if a not in RANK else b!r} is not in the layout")
            elif a != b and RANK[b] >= RANK[a]:
                found.append(f"{source} ({a}) imports {target} ({b}): a room imports only rooms below it")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != source:
                found.append(f"{source} imports private {', '.join(private)} from {target}")
    return found


def circles(graph: Graph) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), counting submodule imports."""
    nodes = set(graph)
    edges = {m: sorted(_targets(graph[m], nodes) - {m}) for m in graph}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def _targets(imports: dict[str, list[str]], nodes: set[str]) -> set[str]:
    # `from item2vec.model import store` imports the module item2vec.model.store as well as the package.
    found = set()
    for target, names in imports.items():
        found |= {target if target in nodes else target.rsplit(".", 1)[0]}
        found |= {f"{target}.{n}" for n in names if f"{target}.{n}" in nodes}
    return found


def private_uses(path: Path) -> list[str]:
    """``obj._name`` uses of a private name that ``path``'s module does not define itself.

    ``self._x`` and ``cls._x`` are a class's own; ``other._x`` where the module defines ``_x``
    (another instance of its own class) is too. Anything else reaches into another module.
    """
    tree = ast.parse(path.read_text())
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        if (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")) or node.attr in own:
            continue
        found.append(f"{path.name}:{node.lineno} uses {ast.unparse(node)}, another module's private name")
    return found


# A flag as the command line spells it: --min-count, -k. A command to run ('item2vec index ...')
# may show its own flags: it is an example of another command, not a name of this call's parameter.
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]+|-[ko]\b)")
CORE_ROOMS = ("corpus", "model", "training", "query", "evaluation", "export", "visual")


def spelled_flags(path: Path) -> list[str]:
    """String literals of ``path`` (docstrings aside) that spell a command-line flag."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docs.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if "item2vec " in text:
                docs.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docs:
            continue
        flag = FLAG.search(node.value)
        if flag and "item2vec " not in node.value:
            found.append(f"{path.name}:{node.lineno} spells {flag.group(0)}")
    return found


GRAPH = import_graph(PACKAGE)


def test_imports_only_go_down() -> None:
    assert violations(GRAPH) == []


def test_no_module_reaches_into_another_modules_private_names() -> None:
    assert [use for path in sorted(PACKAGE.rglob("*.py")) for use in private_uses(path)] == []


def test_the_core_spells_no_command_line_flag() -> None:
    # The core names parameters with errors.param; each edge spells them (flags, keywords, 422s).
    paths = [p for room in CORE_ROOMS for p in sorted((PACKAGE / room).rglob("*.py"))]
    assert [found for path in paths for found in spelled_flags(path)] == []


def test_a_spelled_flag_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        '"""Docs may say --min-count."""\n'
        "def f(n):\n"
        '    """Nor here: -k."""\n'
        "    g(f\"rebuild with 'item2vec index {n} --kind hnsw'\")\n"
        '    raise ValueError(f"use --min-count {n}")\n'
    )
    assert spelled_flags(path) == ["m.py:5 spells --min-count"]


def test_no_import_circles() -> None:
    assert circles(GRAPH) == []


def test_every_room_says_what_it_is_for_and_may_import() -> None:
    rooms = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    assert {p.name for p in rooms} >= {
        "corpus",
        "training",
        "model",
        "query",
        "evaluation",
        "export",
        "visual",
        "cli",
    }
    for package in rooms:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc, f"{package.name}/__init__.py has no docstring"
        if package.name != "cli":
            assert "May import:" in doc, f"{package.name}/__init__.py does not say what it may import"
    assert not [p.name for p in PACKAGE.glob("*.py") if p.stem not in GROUND | {"__init__", "__main__"}]


def test_no_room_is_named_train() -> None:
    # item2vec.train is the public function; a module of that name would shadow it.
    assert not (PACKAGE / "train.py").exists() and not (PACKAGE / "train").exists()


# --- the checks can fail ---------------------------------------------------------------------------


def _fake(tmp_path: Path, files: dict[str, str]) -> Graph:
    root = tmp_path / "item2vec"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(root)


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    graph = _fake(
        tmp_path,
        {
            "__init__.py": "",
            "model/__init__.py": "",
            "model/store.py": "def f():\n    from item2vec.query.topk import top_k\n",
            "query/__init__.py": "",
            "query/topk.py": "from item2vec.model.store import f\n",
        },
    )
    assert violations(graph) == [
        "item2vec.model.store (model) imports item2vec.query.topk (query): a room imports only rooms below it"
    ]
    assert circles(graph) == [["item2vec.model.store", "item2vec.query.topk"]]


def test_a_sideways_import_a_private_name_and_a_circle_in_a_room_are_caught(tmp_path: Path) -> None:
    graph = _fake(
        tmp_path,
        {
            "corpus/__init__.py": "",
            "corpus/a.py": "from item2vec.corpus.b import _helper\nfrom item2vec.model import store\n",
            "corpus/b.py": "import item2vec.corpus.a\n",
            "model/__init__.py": "",
            "model/store.py": "",
        },
    )
    assert violations(graph) == [
        "item2vec.corpus.a imports private _helper from item2vec.corpus.b",
        "item2vec.corpus.a (corpus) imports item2vec.model (model): a room imports only rooms below it",
    ]
    assert circles(graph) == [["item2vec.corpus.a", "item2vec.corpus.b"]]


def test_a_call_of_another_modules_private_name_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "scoring.py"
    path.write_text(
        "class Scorer:\n"
        "    def _own(self):\n"
        "        return self._cache, other._own()\n"
        "    def answer(self):\n"
        "        return self.embeddings._answer(1)\n"
    )
    assert private_uses(path) == ["scoring.py:5 uses self.embeddings._answer, another module's private name"]


@pytest.mark.parametrize("module", ["item2vec.cli.query", "item2vec.training.pipeline", "item2vec.errors"])
def test_the_graph_sees_real_modules(module: str) -> None:
    assert module in GRAPH


# --- functions stay short -------------------------------------------------------------------------

MAX_LINES = 60  # a function's body, its docstring excluded
MAX_PARAMS = 10  # self and cls excluded
REASONS = ("Long:", "Many parameters:")  # a docstring that says why a function is longer or wider


def long_functions(path: Path) -> list[str]:
    """Functions of ``path`` over ``MAX_LINES`` lines or ``MAX_PARAMS`` parameters whose docstring gives no reason."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node) or ""
        if any(reason in doc for reason in REASONS):
            continue
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        lines = (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1 if body else 0
        args = node.args
        names = [
            a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a
        ]
        params = len([n for n in names if n not in ("self", "cls")])
        if lines > MAX_LINES:
            found.append(f"{path.name}:{node.lineno} {node.name} has {lines} lines")
        if params > MAX_PARAMS:
            found.append(f"{path.name}:{node.lineno} {node.name} takes {params} parameters")
    return found


def test_no_core_function_is_long_or_wide_without_a_reason() -> None:
    # Split a long function into named steps, or bundle its options into a typed request; where
    # neither helps, its docstring says why ("Long: ..." or "Many parameters: ...").
    paths = [p for p in sorted(PACKAGE.rglob("*.py")) if "cli" not in p.relative_to(PACKAGE).parts[:1]]
    assert [found for path in paths for found in long_functions(path)] == []


def test_a_long_or_wide_function_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(61))
    wide = ", ".join(f"a{i}" for i in range(11))
    path.write_text(
        f'def long():\n    """Docs do not count."""\n{body}'
        f"def wide(self, {wide}):\n    pass\n"
        f'def excused():\n    """Long: one table, read top to bottom."""\n{body}'
        f"def short(self, {', '.join(f'a{i}' for i in range(10))}):\n{body[: body.index('x60')]}"
    )
    assert long_functions(path) == ["m.py:1 long has 61 lines", "m.py:64 wide takes 11 parameters"]
