"""The installed layout: one namespace, every subpackage listed, nothing else at top level."""

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_under_synthbalance():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: ROOT / path for name, path in setuptools["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        # configs (yaml) and templates (j2) install as packages of data files
        for file in [*folder.rglob("*.py"), *folder.rglob("*.yaml"), *folder.rglob("*.j2")]:
            if "__pycache__" not in file.parts:
                found.add(".".join((name, *file.parent.relative_to(folder).parts)))
        # folders holding only folders are packages too (conf/hydra)
        found |= {".".join(p.split(".")[:-1]) for p in set(found) if p.count(".") > 2}
    assert found == set(setuptools["packages"])
    assert all(package.split(".")[0] == "synthbalance" for package in found)


def test_a_wheel_install_runs_beside_a_users_own_conf_package(tmp_path):
    """``pip install .`` (not editable) into a fresh venv; from a project with its own
    ``conf`` package on PYTHONPATH the CLI still finds its configs, and the folder names are
    not importable at top level."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # the dependencies come from this environment (and those its own .pth files add, as a
    # worktree's venv does); synthbalance itself is installed anew
    found = [sysconfig.get_paths()["purelib"], *(p for p in sys.path if p.endswith("-packages"))]
    (Path(site) / "deps.pth").write_text("\n".join(dict.fromkeys(found)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", site, str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    project = tmp_path / "project"
    (project / "conf").mkdir(parents=True)
    (project / "conf" / "__init__.py").write_text("")
    (project / "conf" / "config.yaml").write_text("mine: true\n")
    env = {**os.environ, "PYTHONPATH": str(project)}

    def python_in_project(code):
        return subprocess.run([python, "-c", code], cwd=project, env=env, capture_output=True,
                              text=True)  # fmt: skip

    assert "No module named 'generators'" in python_in_project("import generators").stderr
    found = python_in_project("import synthbalance; print(synthbalance.evaluate.__module__)")
    assert found.stdout.strip() == "synthbalance.pipelines.api", found.stderr
    arguments = ["dataset.n_majority=300", "dataset.n_minority=30", "generator=smote",
                 "evaluation.n_splits=2", "evaluation.n_repeats=1", "evaluation.progress=false",
                 f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    job = subprocess.run([python, "-m", "synthbalance", *arguments], cwd=project, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert job.returncode == 0, job.stderr
    assert (tmp_path / "run" / "report.json").is_file()
    assert '<img src="data:image/png' in (tmp_path / "run" / "report.html").read_text()
