"""The package builds into a wheel offline (no package index), typed (py.typed) and with no required dependency."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]


def test_builds_a_typed_wheel_offline(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps", "-w", str(tmp_path), str(PYTHON_DIR)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = tmp_path.glob("runta-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {f"runta/{p.name}" for p in (PYTHON_DIR / "src" / "runta").glob("*.py")}
    assert {"runta/py.typed", *sources} <= names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.10" in metadata and "Requires-Dist" not in metadata


def test_the_package_type_checks_strictly() -> None:
    # Debian's mypy (python3-mypy, installed by bin/setup.sh --test), against the oldest supported Python.
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10", "--no-incremental", str(PYTHON_DIR / "src" / "runta")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
