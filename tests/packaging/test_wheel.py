"""The built package is complete: the wheel is built from the tracked files alone, installed
into a fresh virtual environment outside the checkout, and run from there: ``--help`` (and
``--version`` once the command has it), ``config example``, ``db init``, ``serve`` with
``/livez`` and ``/metrics``, and the TUI's stylesheets found next to the installed modules.

Offline and bounded: the wheel is installed with ``--no-index --no-deps`` and the
dependencies are those already installed for the tests (made visible to the new environment
through a ``.pth`` line, which does not run their ``.pth`` hooks, so the checkout's editable
install stays out). The test then proves the project's own modules come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.bench.servers import ServerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "cli", "store", "tui", "worker")
TIMEOUT = 300


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _tracked_copy(target: Path) -> Path:
    """The files git tracks, nothing else: a stray local file cannot make the wheel pass."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the wheel test builds from the git checkout's tracked files")
    listed = _run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the checkout) with only the built wheel of this project in it."""
    base = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(base / "src")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source,
         cwd=base)  # fmt: skip
    wheels = list((base / "dist").glob("trident_scim-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index",
         "--no-deps", wheels[0], cwd=base)  # fmt: skip
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=base).strip())  # fmt: skip
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TRIDENT_SCIM_CONFIG")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def test_the_project_modules_and_stylesheets_come_from_the_wheel(
    installed: Path, tmp_path: Path
) -> None:
    script = (
        "import importlib, pathlib\n"
        f"for name in {PACKAGES!r}:\n"
        "    print(pathlib.Path(importlib.import_module(name).__file__).parent)\n"
        "import tui.app\n"
        "from tui.app import ControlApp\n"
        "here = pathlib.Path(tui.app.__file__).parent\n"
        "for css in ControlApp.CSS_PATH:\n"
        "    assert (here / css).is_file(), css\n"
        "print(len(list(here.rglob('*.tcss'))))\n"
    )
    out = _run(installed / "bin" / "python", "-c", script, cwd=tmp_path, env=_env()).split()
    site = str(installed.resolve())
    assert all(line.startswith(site) for line in out[:-1]), out
    assert int(out[-1]) == len(list((ROOT / "tui").rglob("*.tcss")))


def test_the_installed_command_configures_initialises_and_serves(
    installed: Path, tmp_path: Path
) -> None:
    program = installed / "bin" / "trident-scim"
    env = _env()
    assert "serve" in _run(program, "--help", cwd=tmp_path, env=env)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if "--version" in _run(program, "--help", cwd=tmp_path, env=env):
        assert version in _run(program, "--version", cwd=tmp_path, env=env)
    example = _run(program, "config", "example", cwd=tmp_path, env=env)
    assert {"database", "api", "metrics", "logging"} <= set(tomllib.loads(example))
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "scim.db"}"\n'
                      '[logging]\nlevel = "WARNING"\n')  # fmt: skip
    _run(program, "--config", config, "db", "init", cwd=tmp_path, env=env)
    server = ServerProcess(config, tmp_path / "serve.log", threads=2, program=str(program))
    server.start()
    try:
        server.wait_ready(timeout=60)
        client = server.client()
        live = client.get("/livez")
        assert live.status == 200 and live.json == {"status": "ok"}
        metrics = client.get("/metrics")
        assert metrics.status == 200 and b"trident_scim_http_requests_total" in metrics.raw
    finally:
        server.stop()
