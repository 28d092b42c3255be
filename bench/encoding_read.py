"""F1's hidden cost: reading a 1M-row users sheet saved as UTF-8 and as a Windows code page.

The sheet is synth.py's users with German names only (so that cp1252 holds them all). Prints
the best of three in-process `read_file` times for each; run it once with this tree and once
with the tree before a change (PYTHONPATH=<that tree>) to compare. Target: code-page detection
adds at most 10 % to the read of a non-UTF-8 file.

    .venv/bin/python bench/encoding_read.py [N]      (default: 1000000)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

from synth import users

HERE = Path(__file__).resolve().parent

GERMAN = {"Олег": "Jörg", "Дарья": "Käthe", "Иванов": "Weiß", "Петрова": "Schäfer"}


def sheets(n: int, out: Path) -> dict[str, Path]:
    paths = {"utf-8": out / f"enc-{n}-utf8.csv", "cp1252": out / f"enc-{n}-cp1252.csv"}
    if not all(p.exists() for p in paths.values()):
        out.mkdir(parents=True, exist_ok=True)
        frame = users(n, [f"D{i:05d}" for i in range(max(5, n // 100))]).with_columns(
            pl.col("First").replace(GERMAN), pl.col("Last").replace(GERMAN))
        frame.write_csv(paths["utf-8"], separator=";")
        paths["cp1252"].write_bytes(paths["utf-8"].read_text(encoding="utf-8").encode("cp1252"))
    return paths


def main(n: int) -> None:
    from tui_sync.sources.local import read_file
    from tui_sync.sources.table import SheetOptions

    for name, path in sheets(n, HERE / "out").items():
        times = []
        for _ in range(3):
            t = time.perf_counter()
            table = read_file(path, SheetOptions(), max_bytes=1 << 31)
            times.append(time.perf_counter() - t)
        print(f"{name:>7}: {path.stat().st_size / 1e6:6.1f} MB, {table.rows:,} rows, read as {table.encoding}: "
              f"best {min(times):.3f} s  (runs: {', '.join(f'{x:.3f}' for x in times)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
