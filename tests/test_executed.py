"""notebook_digest(): what decides whether make notebooks reuses an executed chapter."""

import os

import pytest

from specgen.runtime.executed import notebook_digest


@pytest.fixture
def project(tmp_path):
    """A repository's inputs in miniature: a chapter, the library, a sweep, the ci profile's files."""
    for path, text in {
        "book/02_x.ipynb": "{}",
        "specgen/model/train.py": "EPOCHS = 1\n",
        "book/sweeps/scaling_ci.yaml": "runs: runs/scaling_ci\n",
        "pyproject.toml": "[project]\n",
        "data/ci/train.h5": "grid",
        "models/ci/emulator/emulator.json": "{}",
        "data/demo/train.h5": "another profile's grid",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def digest(project, previous=""):
    return notebook_digest(project / "book/02_x.ipynb", "ci", previous, project)


def test_the_digest_is_the_same_while_nothing_changes(project):
    assert digest(project) == digest(project)


@pytest.mark.parametrize(
    "path", ["book/02_x.ipynb", "specgen/model/train.py", "book/sweeps/scaling_ci.yaml", "pyproject.toml"]
)
def test_an_edited_source_changes_it(project, path):
    before = digest(project)
    (project / path).write_text((project / path).read_text() + " ")
    assert digest(project) != before


def test_a_rewritten_grid_or_model_changes_it_and_another_profile_does_not(project):
    before = digest(project)
    os.utime(project / "data/demo/train.h5", ns=(1, 1))
    assert digest(project) == before
    os.utime(project / "models/ci/emulator/emulator.json", ns=(1, 1))
    assert digest(project) != before


def test_a_new_sweep_point_changes_it_but_a_point_links_data_without_it_being_followed(project):
    before = digest(project)
    point = project / "runs/scaling_ci/n_stars=6"
    point.mkdir(parents=True)
    (point / "data").symlink_to(project / "data", target_is_directory=True)
    assert digest(project) == before
    (point / "status.json").write_text("{}")
    assert digest(project) != before


def test_the_previous_chapter_and_the_profile_enter_it(project):
    assert digest(project, "a") != digest(project, "b")
    assert notebook_digest(project / "book/02_x.ipynb", "demo", "", project) != digest(project)
