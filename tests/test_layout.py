"""The tree shows the data flow: every module's imports, read from its source, run one way."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "specgen"

#: Stages in data-flow order; a module may import its own stage and earlier ones only.
STAGES = (
    ("specgen.constants", "specgen.labels", "specgen.runtime"),
    ("specgen.grid",),
    ("specgen.synth",),
    ("specgen.model",),
    ("specgen.validate",),
    ("specgen.fit",),
    ("specgen.studies",),
    ("specgen.plots", "specgen.tables", "specgen.card"),
    ("specgen.cli", "specgen.provenance", "specgen"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> int:
    """The index of the most specific stage holding ``module``."""
    matches = [(len(prefix), i) for i, group in enumerate(STAGES) for prefix in group
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} belongs to no stage: add it to STAGES"
    return max(matches)[1]


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported specgen module, names taken from it, line) for every import of ``module``,
    at module level or inside functions, except those under ``if TYPE_CHECKING:``."""
    tree = ast.parse(MODULES[module].read_text())
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                 for n in ast.walk(node)}
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "specgen"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "specgen":
                continue
            for alias in node.names:  # `from specgen import plots` imports a module
                sub = f"{base}.{alias.name}"
                found.append((sub, [], node.lineno) if sub in MODULES else (base, [alias.name], node.lineno))
    return found


def test_every_module_belongs_to_a_stage():
    assert len(MODULES) > 30
    for module in MODULES:
        stage(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_stage_imports_a_later_one(module):
    later = [f"line {line}: {target} (stage {stage(target)})" for target, _, line in imports(module)
             if stage(target) > stage(module)]
    assert not later, f"{module} (stage {stage(module)}) imports later stages: {later}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_module(module):
    private = [f"line {line}: {name} from {target}" for target, names, line in imports(module) for name in names
               if name.startswith("_") and not name.startswith("__") and target != module]
    assert not private, f"{module} uses another module's private helpers: {private}; make them public where they live"


def test_no_import_cycle():
    graph = {module: {target for target, _, _ in imports(module) if target in MODULES} - {module} for module in MODULES}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [module, target] if target in path else [module, target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_layout_rules_catch_what_they_should():
    """The checks above on a module that breaks each rule (so that they cannot pass by construction)."""
    bad = PACKAGE / "grid" / "_layout_probe.py"
    bad.write_text("from specgen.model.emulator import Emulator\nfrom specgen.grid.format import _extend\n")
    try:
        MODULES["specgen.grid._layout_probe"] = bad
        found = imports("specgen.grid._layout_probe")
        assert [(t, n) for t, n, _ in found] == [("specgen.model.emulator", ["Emulator"]), ("specgen.grid.format", ["_extend"])]
        assert stage("specgen.model.emulator") > stage("specgen.grid._layout_probe")
    finally:
        del MODULES["specgen.grid._layout_probe"]
        bad.unlink()


def test_commands_without_networks_do_not_load_keras():
    """`specgen info`, `synth` and `import-ascii` start without TensorFlow or Keras: what they import
    (the command line, synthesis, the grid) loads none of them."""
    code = (
        "import sys\nimport specgen.cli, specgen.synth.database, specgen.grid\n"
        "print(','.join(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"the commands without networks load {loaded}"
