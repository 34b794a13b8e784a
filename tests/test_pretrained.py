"""The generator shipped inside the package: it loads with no database and no training, generates its reference
radiative-transfer spectra as its model card says, and refuses labels outside its domain."""

import contextlib
import io
import json

import numpy as np
import pytest

from specgen.card import REFERENCE_NAME
from specgen.cli import main
from specgen.grid import read_grid
from specgen.labels import LabelError
from specgen.model.emulator import Emulator, pretrained_dir

CARD = json.loads((pretrained_dir() / "card.json").read_text())


@pytest.fixture(scope="module")
def pretrained():
    return Emulator.pretrained()


def test_the_shipped_generator_is_small_and_has_its_card():
    files = [p for p in pretrained_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 10e6  # bytes, model, card and reference spectra together
    assert (pretrained_dir() / "MODEL_CARD.md").read_text().count(f"{CARD['test']['gen_mae']:.2e}") >= 1


def test_it_generates_its_reference_spectra_as_measured_on_the_card(pretrained):
    reference = read_grid(pretrained_dir() / "reference" / REFERENCE_NAME)
    error = np.abs(pretrained.generate_like(reference) - reference.flux)
    assert error.mean() == pytest.approx(CARD["reference"]["mae"], rel=1e-3)
    assert error.mean() < CARD["test"]["mean_spectrum_mae"] / 3  # far better than the mean spectrum


def test_it_refuses_labels_outside_its_domain(pretrained):
    sun = dict(teff=5777.0, logg=4.44, vsini=2.0, m_h=0.0, xi_t=1.0, resolution=11500.0)
    assert pretrained.generate(**sun).shape == (4000,)
    with pytest.raises(LabelError, match="teff"):
        pretrained.generate(**(sun | {"teff": 30000.0}))


def test_specgen_generate_reads_the_pretrained_model(tmp_path):
    labels = tmp_path / "stars.csv"
    labels.write_text("teff,logg,vsini,m_h,xi_t,resolution\n5777,4.44,2,0,1,11500\n4500,2.5,5,-0.5,1.5,11500\n")
    out = tmp_path / "s.h5"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["generate", "--model", "pretrained", "--labels", str(labels), "--out", str(out)]) == 0
    assert read_grid(out).flux.shape == (2, 4000)
