"""The package as users install it: ``python -m build`` (the sdist, then the wheel built from
it), and that wheel installed with JupyterLab into a clean venv, with nothing from this tree.

An editable install finds files in the source tree that an installed wheel does not have (the
built labextension inside the package, for one), so what works in ``.venv`` can still break for
everyone who runs ``pip install``: the tests in ``test_wheel_install.py`` run against this venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .lab import ROOT

BUILD_TIMEOUT = 600  # seconds: sdist + wheel (the labextension is already built by setup)
INSTALL_TIMEOUT = 900  # seconds: the wheel's dependencies and JupyterLab from the index/cache


def run(
    command: list[str | Path], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, timeout=timeout,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout[-6000:]}")
    return result.stdout


def build_dists(outdir: Path) -> tuple[Path, Path]:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist."""
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", outdir, ROOT],
        cwd=ROOT, timeout=BUILD_TIMEOUT)  # fmt: skip
    (sdist,) = outdir.glob("*.tar.gz")
    (wheel,) = outdir.glob("*.whl")
    return sdist, wheel


NODE_TOOLS = ("node", "nodejs", "npm", "npx", "corepack", "yarn", "jlpm")


def _without_node(directory: str, shadows: Path) -> str:
    """``directory``, or a copy of it of symlinks without Node's tools when it holds any."""
    folder = Path(directory)
    if not any((folder / tool).exists() for tool in NODE_TOOLS):
        return directory
    shadow = shadows / str(len(list(shadows.iterdir())))
    shadow.mkdir()
    for entry in folder.iterdir():
        if entry.name not in NODE_TOOLS:
            (shadow / entry.name).symlink_to(entry)
    return str(shadow)


def clean_env(shadows: Path) -> dict[str, str]:
    """The environment of a user's machine without Node.js: nothing from this tree's venv or
    pointing into it, and PATH's folders that hold Node's tools replaced by copies (symlinks,
    in ``shadows``) without them, so the install proves the wheel needs no Node."""
    venv_bin = str(Path(sys.executable).parent)
    shadows.mkdir(parents=True, exist_ok=True)
    path = [_without_node(p, shadows)
            for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]  # fmt: skip
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
        and not k.startswith(("JUPYTER", "JPY_"))
    }
    env["PATH"] = os.pathsep.join(path)
    assert shutil.which("node", path=env["PATH"]) is None, env["PATH"]
    return env


def install_wheel(wheel: Path, venv: Path, env: dict[str, str]) -> Path:
    """A fresh venv with the wheel and JupyterLab (what a user types, in ``env``: see
    :func:`clean_env`); returns its bin dir."""
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    run([base_python, "-m", "venv", venv], cwd=venv.parent, timeout=120, env=env)
    bin_dir = venv / "bin"
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         wheel, "jupyterlab>=4.2,<5"], cwd=venv.parent, timeout=INSTALL_TIMEOUT, env=env)  # fmt: skip
    return bin_dir
