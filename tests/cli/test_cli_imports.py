"""What the command line loads (start-up): `--help` answers without polars or the engine, and
`plan` and `check` of local CSV files load neither the UI nor the clients of the sources they do
not use (each runs as a real `tui-sync` process would, in a fresh interpreter)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workspace import Workspace, dept, person

PROBE = """
import sys
from tui_sync.cli import main
try:
    main(sys.argv[1:])
except SystemExit:  # (--help)
    pass
print("LOADED", " ".join(sorted(m for m in sys.modules if m.split(".")[0] in (
    "polars", "textual", "httpx", "gspread", "fastexcel", "openpyxl", "charset_normalizer"))))
"""


def loaded(*args: str, cwd: Path | None = None) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOADED")]
    assert line, out.stderr
    return {m.split(".")[0] for m in line[0].split()[1:]}


def test_help_loads_neither_polars_nor_the_ui_nor_any_client():
    assert loaded("--help") == set()


def test_plan_and_check_of_local_csv_files_load_polars_only(tmp_path):
    ws = Workspace(tmp_path)
    ws.sheets([dept("HQ")], [person("ann")])
    for command in (["plan", "--json"], ["check"]):
        assert loaded(*command, "--config", str(tmp_path / "tui-sync.toml"), cwd=tmp_path) == {"polars"}, command
