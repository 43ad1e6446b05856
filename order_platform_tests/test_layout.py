"""The package's shape as a newcomer sees it: folders by role, none crowded, and a production wheel
that carries the platform only (no stand-ins, sample data, benches or tests)."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "order_platform"
MAX_MODULES_PER_FOLDER = 12  # modules beside each other in one folder, __init__.py not counted
MAX_LOOSE_IN_ROOT = 5


def _modules(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")


def test_no_folder_is_crowded():
    folders = [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir() and (p / "__init__.py").exists())]
    crowded = {str(f.relative_to(ROOT)): len(_modules(f)) for f in folders if len(_modules(f)) > MAX_MODULES_PER_FOLDER}
    assert crowded == {}
    assert len(_modules(PACKAGE)) <= MAX_LOOSE_IN_ROOT, _modules(PACKAGE)


def _uv() -> list[str]:
    found = shutil.which("uv")  # `make install` installs uv when it is missing
    return [found] if found else [sys.executable, "-m", "uv"]


def test_the_wheel_holds_the_platform_only(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    built = subprocess.run(
        [*_uv(), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("order_platform-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"order_platform"}  # not stand_ins/, not order_platform_tests/
    assert "order_platform/config/monday_board.json" in names and "order_platform/definitions.py" in names
    assert not any("sample" in n or "bench" in n for n in names)
