"""DESIGN §3: the engine never imports Textual; only tui_sync.ui does.

The CLI is the other front: it may start the UI (lazily), never import textual itself."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "tui_sync"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_outside_the_ui_package_imports_textual():
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                 if "ui" not in p.relative_to(PKG).parts[:1] and "textual" in _imports(p)]
    assert offenders == []


def test_import_linter_contract_covers_every_module_but_the_ui():
    contract = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    top = {p.stem if p.is_file() else p.name for p in PKG.iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    covered = {m.removeprefix("tui_sync.") for m in contract["source_modules"]}
    fronts = {"ui", "cli", "__main__"}
    assert top - fronts <= covered, f"add to the contract: {sorted(top - fronts - covered)}"


def test_every_import_linter_contract_is_kept():
    contracts = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    run = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=PKG.parent,
                         capture_output=True, text=True)
    # the exit status says whether any contract broke; the count, that every contract was checked
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(contracts)} kept, 0 broken" in run.stdout, run.stdout + run.stderr


def test_the_layers_contract_puts_applying_and_planning_below_the_service_and_above_the_engine():
    contracts = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    depth = {m.strip(): i for i, layer in enumerate(layers) for m in layer.replace("|", ":").split(":")}
    assert depth["tui_sync.ui"] < depth["tui_sync.daemon"] < depth["tui_sync.service"] \
        < depth["tui_sync.applying"] == depth["tui_sync.planning"] < depth["tui_sync.engine"] \
        < depth["tui_sync.lms"] == depth["tui_sync.sources"] == depth["tui_sync.state"] < depth["tui_sync.model"]
