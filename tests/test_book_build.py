"""`make book` executes copies of the notebooks and leaves the repository as it found it.

* every tracked ``book/*.ipynb`` is committed without outputs or execution counts;
* ``make book`` (run here in a copy of the repository, with stand-ins for papermill, python and
  jupyter-book in its ``.venv/bin``: about a second, nothing is executed) writes the executed
  notebooks under ``_build/executed/``, never over ``book/``, builds the book from a source tree
  holding those executed copies, puts the HTML in ``_build/html`` and leaves ``git status`` clean.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def test_the_book_has_chapters():
    assert NOTEBOOKS, "no book/NN_*.ipynb"


@pytest.mark.parametrize("path", sorted((ROOT / "book").rglob("*.ipynb")), ids=lambda p: p.name)
def test_tracked_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.relative_to(ROOT)}: code cells {dirty} hold outputs or execution counts; `make book` "
        "writes executed copies to _build/executed/. Clear them: jupyter nbconvert --clear-output --inplace"
    )
    assert "papermill" not in nb["metadata"], f"{path.relative_to(ROOT)} is a papermill output"


# --------------------------------------------------------------------------------------------------
# make book in a copy of the repository, with stand-ins for the tools
# --------------------------------------------------------------------------------------------------
FAKE_PAPERMILL = """\
#!{python}
# papermill IN OUT ...: records its arguments and working directory, writes OUT with one output
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "papermill", "argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
src, out = sys.argv[1], sys.argv[2]
nb = json.load(open(src))
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        cell["execution_count"] = 1
        cell["outputs"] = [{{"output_type": "stream", "name": "stdout", "text": ["executed\\n"]}}]
nb["metadata"]["papermill"] = {{"input_path": src, "output_path": out}}
with open(out, "w") as f:
    json.dump(nb, f)
"""

FAKE_PYTHON = """\
#!{python}
# python -m specgen.provenance --profile P: writes book/_build_info/ as the real one does
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "python", "argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
if sys.argv[1:3] == ["-m", "specgen.provenance"]:
    os.makedirs("book/_build_info", exist_ok=True)
    open("book/_build_info/block.md", "w").write("block\\n")
    open("book/_build_info/provenance-ci.json", "w").write("{{}}\\n")
"""

FAKE_JUPYTER_BOOK = """\
#!{python}
# jupyter-book build SRC [--path-output P] ...: records its arguments and the source tree it was given
import json, os, sys
src = sys.argv[2]
files = {{}}
for dirpath, _, names in os.walk(src):
    for name in names:
        path = os.path.join(dirpath, name)
        files[os.path.relpath(path, src)] = open(path, "rb").read().decode(errors="replace")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "jupyter-book", "argv": sys.argv[1:], "cwd": os.getcwd(), "files": files}}) + "\\n")
"""


def html_dir(argv: list[str], cwd: Path) -> Path:
    """Where jupyter-book 1.x puts the HTML of `jupyter-book build SRC [--path-output P]` (its
    cli/main.py: P, or else the nearest folder at or above SRC holding _config.yml, + _build/html)."""
    src = (cwd / argv[1]).resolve()
    if "--path-output" in argv:
        base = (cwd / argv[argv.index("--path-output") + 1]).resolve()
    else:
        base = next((p for p in (src, *src.parents) if (p / "_config.yml").is_file()), src)
    return base / "_build" / "html"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fake_build(tmp_path_factory):
    """`make book PROFILE=ci` in a git repository holding the book's files, with stand-in tools."""
    if not (shutil.which("make") and shutil.which("git") and shutil.which("bash") and shutil.which("tar")):
        pytest.skip("needs make, git, bash and tar")
    repo = tmp_path_factory.mktemp("repo")
    for name in ("Makefile", ".gitignore", "_config.yml", "_toc.yml", "pyproject.toml",
                 "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "_ext", repo / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book", repo / "book",
                    ignore=shutil.ignore_patterns("_build_info", ".ipynb_checkpoints", "__pycache__"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the book")
    # untracked, ignored: an installed .venv and MathJax, newer than what they are made from
    for name in ("pyproject.toml", "package.json", "package-lock.json"):
        os.utime(repo / name, (0, 0))
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("papermill", FAKE_PAPERMILL), ("python", FAKE_PYTHON), ("jupyter-book", FAKE_JUPYTER_BOOK)):
        (bin_dir / name).write_text(text.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    (repo / ".venv" / ".installed").touch()
    mathjax = repo / "_vendor" / "_static" / "mathjax" / "tex-mml-chtml.js"
    mathjax.parent.mkdir(parents=True)
    mathjax.write_text("// MathJax\n")
    tracked = {p.relative_to(repo).as_posix(): p.read_bytes() for p in (repo / "book").rglob("*.ipynb")}

    log = repo.parent / f"{repo.name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "GITHUB_"))}  # no repository known
    env["FAKE_LOG"] = str(log)
    result = subprocess.run(["make", "book", "PROFILE=ci"], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return repo, tracked, calls


def test_papermill_writes_executed_copies_under_build_not_the_notebooks(fake_build):
    repo, tracked, calls = fake_build
    runs = [c for c in calls if c["tool"] == "papermill"]
    assert [c["argv"][0] for c in runs] == sorted(n for n in tracked if Path(n).parent.as_posix() == "book")
    for call in runs:
        src, out = call["argv"][:2]
        assert out == f"_build/executed/{src}", f"papermill {src} -> {out}"
        argv = call["argv"]
        assert argv[argv.index("--cwd") + 1] == str(repo), "notebooks run with the repository root as cwd"
        assert argv[argv.index("-p") + 1: argv.index("-p") + 3] == ["profile", "ci"]
        assert json.loads((repo / out).read_text())["cells"], out
    for name, content in tracked.items():
        assert (repo / name).read_bytes() == content, f"make book changed {name}"


def test_the_book_is_built_from_the_executed_notebooks_into_build_html(fake_build):
    repo, tracked, calls = fake_build
    (build,) = [c for c in calls if c["tool"] == "jupyter-book"]
    argv, files = build["argv"], build["files"]
    assert argv[0] == "build" and "-W" in argv and "--all" in argv
    assert html_dir(argv, Path(build["cwd"])) == repo / "_build" / "html"
    src = (Path(build["cwd"]) / argv[1]).resolve()
    assert src.is_relative_to(repo / "_build"), f"the book's source tree {src} is not under _build/"
    # everything the book reads, at the paths _config.yml and _toc.yml name
    for name in ("_config.yml", "_toc.yml", "_ext/specgen_book.py", "_vendor/_static/mathjax/tex-mml-chtml.js",
                 "book/intro.md", "book/_build_info/block.md"):
        assert name in files, f"{name} missing from the book's source tree"
    config = yaml.safe_load(files["_config.yml"])
    for path in [*config["sphinx"]["local_extensions"].values(), *config["sphinx"]["config"]["html_extra_path"]]:
        assert any(f.startswith(path.rstrip("/") + "/") for f in files), f"{path} (from _config.yml) missing"
    assert config["repository"]["path_to_book"] == "", "launch buttons name book/NN_x.ipynb in the repository"
    assert files["_toc.yml"] == (repo / "_toc.yml").read_text()
    assert "_build_info/block.md" in files["book/intro.md"]
    for name in tracked:
        if Path(name).parent.as_posix() == "book" and Path(name).name[:2].isdigit():
            nb = json.loads(files[name])
            assert "papermill" in nb["metadata"], f"the book's {name} is not the executed copy"


def test_make_book_leaves_git_status_clean(fake_build):
    repo, _, _ = fake_build
    assert (repo / "book" / "_build_info" / "block.md").is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_repository_button_links_the_repository_url_of_the_makefile(fake_build):
    repo, _, calls = fake_build
    (first,) = [c for c in calls if c["tool"] == "jupyter-book"]
    config = yaml.safe_load(first["files"]["_config.yml"])  # a clone with no origin: no button, no placeholder
    assert config["repository"]["url"] == "" and config["html"]["use_repository_button"] is False
    assert config["launch_buttons"]["binderhub_url"] == ""  # a Binder button needs a repository
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env |= {"FAKE_LOG": str(repo.parent / "html.log"), "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "someone/specgen"}  # as on GitHub Actions
    result = subprocess.run(["make", "html", "PROFILE=ci"], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (build,) = [json.loads(line) for line in (repo.parent / "html.log").read_text().splitlines()
                if json.loads(line)["tool"] == "jupyter-book"]
    config = yaml.safe_load(build["files"]["_config.yml"])
    assert config["repository"]["url"] == "https://github.com/someone/specgen"
    assert config["html"]["use_repository_button"] is True
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
