"""The ``specgen`` command: a thin layer over the library.

    specgen synth --n-stars 100 --variants 10 --seed 1 --out grid.h5     # random Tab. 1 labels
    specgen synth --labels stars.csv --out stars.h5                      # given labels
    specgen synth --profile demo                                         # data/demo/{train,test}.h5
    specgen broaden grid.h5 --variants 20 --seed 2 --out more.h5         # new (v sin i, R) of its stars
    specgen import-ascii spectra/ --labels labels.csv --out grid.h5     # another code's spectra
    specgen info grid.h5
    specgen train --grid train.h5 --test test.h5 --out model/                # the demo profile's recipe
    specgen generate --model model/ --labels stars.csv --out spectra.fits    # or .h5, .csv
    specgen evaluate --model model/ --grid test.h5 --json metrics.json       # errors on a test grid
    specgen validate --model model/ --train train.h5 --test test.h5 --json tab5.json   # Tab. 5
    specgen fit --model model/ --spectra obs.h5 --snr 50 --fix resolution=11500 --json fits.json
    specgen fit --model model/ --spectrum gaia_rvs.csv --json star.json --plot star.png   # an observed star
    specgen sweep sweeps/latent.yaml && specgen sweep-report runs/latent                   # parameter sweeps
    specgen shootout --train train.h5 --test test.h5 --json shootout.json                 # chapter 7
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from specgen.fit.observed import SpectrumError, read_spectra
from specgen.grid import MEDIA, GridError, grid_summary, import_ascii, read_label_table
from specgen.labels import LABEL_NAMES, LabelError
from specgen.model.config import FINE_TUNE
from specgen.model.spectra_files import SUFFIXES, write_spectra
from specgen.runtime.profiles import DEFAULT_PROFILE, PROFILES, get_profile


def _synth(args: argparse.Namespace) -> None:
    from specgen.synth.database import (
        plan_from_labels,
        random_plan,
        synthesize_grid,
        synthesize_profile,
    )

    if args.profile:
        for path in synthesize_profile(get_profile(args.profile), args.root, scheduler=args.scheduler).values():
            print(grid_summary(path))
        return
    if args.out is None:
        raise SystemExit("specgen synth: --out is required unless --profile is given")
    if args.labels:
        names, values, _ = read_label_table(args.labels)
        missing = [n for n in LABEL_NAMES if n not in names]
        if missing:
            raise GridError(f"{args.labels} lacks label column(s) {missing}; it needs {list(LABEL_NAMES)}")
        plan = plan_from_labels(values[:, [names.index(n) for n in LABEL_NAMES]])
    else:
        if args.n_stars is None:
            raise SystemExit("specgen synth: give --n-stars (random labels), --labels FILE or --profile NAME")
        plan = random_plan(args.n_stars, args.variants, args.seed, sampling=args.sampling)
    report = synthesize_grid(args.out, plan, workers=args.workers, scheduler=args.scheduler)
    if report.reused:
        print(f"{args.out} is already complete for these parameters: reused")
    print(grid_summary(args.out))


def _broaden(args: argparse.Namespace) -> None:
    from specgen.synth.variants import draw_variants

    print(grid_summary(draw_variants(args.grid, args.variants, args.seed, args.out)))


def _import_ascii(args: argparse.Namespace) -> None:
    path = import_ascii(args.directory, args.labels, args.out, medium=args.medium, code=args.code)
    print(grid_summary(path))


def _info(args: argparse.Namespace) -> None:
    print(grid_summary(args.grid))


def _train(args: argparse.Namespace) -> None:
    from specgen.model.config import KINDS
    from specgen.model.emulator import EmulatorError
    from specgen.model.train import train_emulator

    for out in filter(None, (args.out, args.two_stage_out)):
        taken = out.is_file() or (out.is_dir() and any(out.iterdir()))
        if taken and not (out / "emulator.json").exists():  # said now, not after hours of training
            raise EmulatorError(f"{out} exists and is not a saved emulator; choose another directory")
    overrides = {k: v for k, v in (("seed", args.seed), ("max_epochs", args.max_epochs)) if v is not None}
    config = KINDS[args.kind].for_profile(get_profile(args.profile), **overrides)
    emulator = train_emulator(
        args.grid, config, test_grid=args.test, fine_tune=args.fine_tune, two_stage_out=args.two_stage_out
    )
    emulator.save(args.out)
    history, metrics = emulator.provenance["history"], emulator.provenance["metrics"]
    print(f"saved {emulator!r} to {args.out} ({emulator.provenance['training_seconds']} s of training)")
    print("  epochs: " + ", ".join(f"{stage} {len(h['loss'])}" for stage, h in history.items()))
    print(f"  MAE (continuum)  {'autoencoder':>11}  {'generator':>9}  {'mean spectrum':>13}")
    for split, m in metrics.items():
        ae = "—" if m["ae_mae"] is None else f"{m['ae_mae']:.2e}"
        print(f"  {split:<15}  {ae:>11}  {m['gen_mae']:9.2e}  {m['mean_spectrum_mae']:13.2e}")


def _generate(args: argparse.Namespace) -> None:
    from specgen.model.emulator import Emulator

    emulator = Emulator.load(args.model)
    _, _, table = read_label_table(args.labels)
    flux = emulator.generate(table, batch_size=args.batch_size, allow_extrapolation=args.allow_extrapolation)
    labels = table[list(emulator.label_names)].to_numpy(np.float64)
    write_spectra(args.out, emulator, labels, flux, model_path=args.model)
    print(f"{args.out}: {len(flux)} spectra × {emulator.n_pix} pixels from {args.model}")


def _evaluate(args: argparse.Namespace) -> None:
    from specgen.model.evaluate import evaluate

    metrics = evaluate(args.model, args.grid)
    for key, value in metrics.items():
        print(f"{key:<28} {value:.4g}" if isinstance(value, float) else f"{key:<28} {value}")
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1) + "\n")


def _validate(args: argparse.Namespace) -> None:
    from specgen.grid import read_grid
    from specgen.model.emulator import Emulator
    from specgen.validate.estimator import EstimatorConfig
    from specgen.validate.tab5 import validate

    epochs = {"max_epochs": args.max_epochs} if args.max_epochs else {}
    config = EstimatorConfig.for_profile(get_profile(args.profile), per_label=not args.joint, **epochs)
    result = validate(Emulator.load(args.model), read_grid(args.train), read_grid(args.test), config)
    print(f"label recovery by PCA({config.n_components}) + networks ({result.estimator.mode}); RMSE in label units")
    print(result.table().to_string(float_format=lambda v: f"{v:.4g}"))
    print("68% intervals of a bootstrap over test stars:")
    print(result.intervals().to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"PCA reconstruction error (mean |ΔF|) {result.pca_reconstruction_error:.2e}")
    if args.json:
        args.json.write_text(json.dumps(result.to_json(), indent=1) + "\n")


def _shootout(args: argparse.Namespace) -> None:
    from specgen import plots
    from specgen.model.config import TrainingConfig
    from specgen.studies.shootout import default_contestants, run_shootout

    config = TrainingConfig.for_profile(get_profile(args.profile), max_epochs=args.max_epochs)
    small = {"max_epochs": args.small_max_epochs}
    contestants = default_contestants(Payne=small, ConditionalVAE=small, Factorised=small)
    result = run_shootout(args.train, args.test, config, contestants=contestants, progress=True)
    print(result.table.to_string(float_format=lambda v: f"{v:.4g}"))
    if args.json:
        record = {"train": str(args.train), "test": str(args.test), "profile": args.profile,
                  "max_epochs": args.max_epochs, "small_max_epochs": args.small_max_epochs,
                  "flux_errors_unit": "continuum", "contestants": result.table.to_dict(orient="index"),
                  "kl_per_dimension_nats": {c.name: c.kl_per_dimension.tolist() for c in result.contestants
                                            if hasattr(c, "kl_per_dimension")}}
        args.json.write_text(json.dumps(record, indent=1, default=float) + "\n")
    if args.plot:
        plots.shootout_residuals(result.wavelength, result.residuals).savefig(args.plot, dpi=120)


def _fit(args: argparse.Namespace) -> None:
    import pandas as pd

    from specgen.fit.chi2 import N_STARTS, fit_labels, generator_error
    from specgen.fit.stars import fit_spectra
    from specgen.grid import read_grid
    from specgen.model.emulator import Emulator

    n_starts = N_STARTS if args.starts is None else args.starts
    if args.resolution is not None and not (args.spectrum or args.out):
        raise SystemExit("specgen fit: --resolution goes with observed spectra (--spectrum, or a folder of them with "
                         "--spectra and --out), degraded when sharper than the model; for a grid use --fix resolution=VALUE")
    if args.medium is not None and not (args.spectrum or args.out):
        raise SystemExit("specgen fit: --medium goes with observed spectra (--spectrum, or a folder of them with "
                         "--spectra and --out); a grid file records its own")
    if args.macroturbulence and args.out is not None:
        raise SystemExit("specgen fit: --macroturbulence goes with --spectrum or --spectra GRID, not with --out")
    if args.out is not None:  # a survey, in resumable chunks, to a table
        if args.spectra is None or args.json:
            raise SystemExit("specgen fit: --out writes the fits of --spectra (a grid file or a folder of spectrum "
                             "files) to a .parquet or .csv table; --spectrum and --json are for fits printed at once")
        from specgen.fit.survey import CHUNK_SIZE, fit_survey

        fit_survey(args.spectra, args.model, args.out, snr=args.snr, fixed=dict(args.fix), n_starts=n_starts,
                   fit_resolution=args.fit_resolution, resolution=args.resolution, medium=args.medium,
                   model_error=args.model_error, chunk_size=CHUNK_SIZE if args.chunk_size is None else args.chunk_size,
                   scheduler=args.scheduler, progress=True)
        return
    if args.scheduler or args.chunk_size is not None:
        raise SystemExit("specgen fit: --scheduler and --chunk-size go with --out (a survey fitted in chunks to a table)")
    if args.spectra is not None and args.spectra.is_dir():
        raise SystemExit(f"specgen fit: {args.spectra} is a folder: fit its spectra to a table with --out "
                         "FITS.parquet, or together with --spectrum")
    emulator = Emulator.load(args.model)
    model_error = None if args.model_error is None else generator_error(emulator, args.model_error)
    if args.macroturbulence:  # after generator_error: the grids have no macroturbulence
        from specgen.fit.macroturbulence import with_macroturbulence

        emulator = with_macroturbulence(emulator, args.macroturbulence)
    options = {"fixed": dict(args.fix), "n_starts": n_starts, "progress": True, "model_error": model_error}
    if args.spectrum:
        spectra = read_spectra(args.spectrum, medium=args.medium)
        if args.plot and len(spectra) > 1:
            raise SpectrumError(f"--plot takes one spectrum; {args.spectrum} holds {len(spectra)}")
        stars = fit_spectra(spectra, emulator, snr=args.snr, resolution=args.resolution,
                            fit_resolution=args.fit_resolution, fit_velocity=args.fit_velocity,
                            continuum_degree=args.continuum, **options)
        table = pd.concat([star.table() for star in stars], ignore_index=True)
        source = {"spectrum": str(args.spectrum.resolve()),
                  "observed": [{k: v for k, v in star.spectrum.meta.items() if k != "path"} for star in stars]}
    else:
        grid = read_grid(args.spectra)
        emulator.check_medium(grid.medium, str(args.spectra))
        fit = fit_labels(grid.flux, emulator, sigma=1.0 / (args.snr or 100.0), **options)
        table, source = fit.table(), {"spectra": str(args.spectra.resolve())}
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        from specgen import plots

        star = stars[0]
        title = f"{args.spectrum.name}: " + plots.label_text(star.labels.label_names, star.labels.labels[0])
        best = {"fit through the generator": star.best_flux}
        plots.observed_fit(emulator.wavelength, star.flux, star.sigma, best, title).savefig(args.plot, dpi=150)
    if args.json:
        report = {
            "model": str(args.model.resolve()),
            **source,
            "snr": args.snr,
            "model_error": None if args.model_error is None else str(args.model_error.resolve()),
            "median_model_error": None if model_error is None else float(np.median(model_error)),
            "continuum_degree": args.continuum,
            "macroturbulence": args.macroturbulence,
            "fixed": dict(args.fix),
            "label_units": emulator.provenance.get("label_units", {}),
            "fits": table.to_dict(orient="records"),
        }
        args.json.write_text(json.dumps(report, indent=1, default=_json_value) + "\n")


def _json_value(value):
    """numpy scalars as Python numbers, for json.dumps."""
    return value.item() if isinstance(value, np.generic) else str(value)


def _sweep(args: argparse.Namespace) -> None:
    from dataclasses import replace as with_changes

    from specgen.studies.sweeps import Sweep, run_sweep

    sweep = Sweep.read(args.spec)
    changes = {key: value for key, value in (("workers", args.workers), ("scheduler", args.scheduler)) if value}
    report = run_sweep(with_changes(sweep, **changes))
    print(report.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{(report['state'] == 'done').sum()} of {len(report)} points done; runs in {sweep.runs}")


def _sweep_report(args: argparse.Namespace) -> None:
    from specgen.studies.sweeps import sweep_report

    report = sweep_report(args.runs)
    if report.empty:
        raise FileNotFoundError(f"no sweep points (*/status.json) under {args.runs}")
    csv = args.csv or args.runs / "report.csv"
    report.to_csv(csv, index=False)
    print(report.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {csv}")


def _fixed_label(text: str) -> tuple[str, float]:
    """``name=value`` → (name, value), for ``--fix resolution=11500``."""
    name, _, value = text.partition("=")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fix takes name=value, e.g. resolution=11500, not {text!r}") from None


def _positive(text: str) -> int:
    """A count, 1 or more, for ``--variants``."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number 1, 2, 3, ..., not {text!r}")
    return int(text)


def _degree(text: str) -> int:
    """A polynomial degree, 0 or more, for ``--continuum``."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"--continuum takes a degree 0, 1, 2, ..., not {text!r}")
    return int(text)


def _spectra_file(text: str) -> Path:
    """An output path whose extension names a known format (checked before any work is done)."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES:
        raise argparse.ArgumentTypeError(f"unknown extension {path.suffix!r} of {text}; use .h5, .fits or .csv")
    return path


def _card(args: argparse.Namespace) -> None:
    from specgen.card import measure_card, write_card
    from specgen.validate.estimator import EstimatorConfig

    config = EstimatorConfig.for_profile(get_profile(args.profile), per_label=args.per_label_estimator)
    card = measure_card(args.model, args.train, args.test, config, n_reference=args.reference)
    out = args.out or Path(card["model"])
    print(f"wrote {write_card(card, out, args.test)} and {out / 'card.json'}: test MAE {card['test']['gen_mae']:.2e} over "
          f"{card['test']['n_stars']} stars")


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True,
                        help="saved emulator directory, or 'pretrained': the generator shipped with specgen")


def _add_profile(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                        help=f"{what} (default {DEFAULT_PROFILE})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specgen",
        description="Stellar spectra from neural networks, trained on real radiative transfer (Gebran 2024).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = sub.add_parser(
        "synth",
        help="compute a grid with radiative transfer (PySME on atmosnet atmospheres)",
        description="Compute spectra on the 8400–8800 Å RVS grid. Resumes an interrupted file; "
        "reuses a complete one made with the same parameters.",
    )
    src = synth.add_mutually_exclusive_group()
    src.add_argument("--n-stars", type=int, help="number of radiative-transfer runs, labels drawn in Tab. 1")
    src.add_argument("--labels", type=Path, help=f"CSV with columns {','.join(LABEL_NAMES)} (one spectrum a row)")
    src.add_argument("--profile", choices=sorted(PROFILES), help="the train and test grids of a profile")
    synth.add_argument("--variants", type=int, default=10, help="(v sin i, R) copies per star (default 10)")
    synth.add_argument("--seed", type=int, default=2024, help="random seed of the labels (default 2024)")
    synth.add_argument("--sampling", choices=("uniform", "sobol"), default="uniform",
                       help="with --n-stars: intrinsic labels drawn independently uniform (default) or by a "
                       "scrambled Sobol sequence that fills Tab. 1 more evenly")
    synth.add_argument("--out", type=Path, help="output HDF5 grid")
    synth.add_argument("--root", type=Path, default=Path("."), help="with --profile: where data/<profile>/ goes")
    synth.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    synth.add_argument("--scheduler", help="address of a dask.distributed scheduler, e.g. tcp://host:8786")
    synth.set_defaults(func=_synth)

    br = sub.add_parser(
        "broaden",
        help="new (v sin i, R) variants of the stars a grid keeps the intrinsic spectra of (no radiative transfer)",
        description="Draw (v sin i, R) uniformly in Tab. 1 for every star of GRID's /intrinsic group and broaden its "
        "stored spectrum to them, exactly as synth does, into a new grid file (rows linked by star_id, the intrinsic "
        "spectra copied along, the source and seed recorded).",
    )
    br.add_argument("grid", type=Path, help="grid with intrinsic spectra, made by specgen synth")
    br.add_argument("--variants", type=_positive, default=10, help="(v sin i, R) copies per star (default 10)")
    br.add_argument("--seed", type=int, default=2024, help="random seed of the (v sin i, R) draws (default 2024)")
    br.add_argument("--out", type=Path, required=True, help="output HDF5 grid (a new file)")
    br.set_defaults(func=_broaden)

    imp = sub.add_parser(
        "import-ascii",
        help="build a grid from two-column ASCII spectra (e.g. SYNSPEC/ROTIN output)",
        description="Each file holds wavelength (Å) and normalised flux; the labels CSV has a 'file' "
        "column and one column per label. Spectra are interpolated onto the 8400–8800 Å grid.",
    )
    imp.add_argument("directory", type=Path, help="folder of spectra")
    imp.add_argument("--labels", type=Path, required=True, help="CSV: file,<label>,<label>,...")
    imp.add_argument("--out", type=Path, required=True, help="output HDF5 grid")
    imp.add_argument("--medium", choices=MEDIA, default="air",
                     help="medium of the files' wavelengths, recorded in the grid (default air)")
    imp.add_argument("--code", default="unknown", help="radiative-transfer code, recorded as provenance")
    imp.set_defaults(func=_import_ascii)

    info = sub.add_parser("info", help="summarise a grid file: sizes, labels, provenance")
    info.add_argument("grid", type=Path)
    info.set_defaults(func=_info)

    train = sub.add_parser(
        "train",
        help="train an emulator (the paper's autoencoder + mapper, or the factorised kind) on a grid",
        description="Train with the recipe and epoch cap of a profile, save the emulator to a directory, "
        "and print the epochs and mean absolute errors (continuum units).",
    )
    train.add_argument("--grid", type=Path, required=True, help="training grid (HDF5)")
    train.add_argument("--out", type=Path, required=True, help="directory for the saved emulator")
    _add_profile(train, "training recipe and epoch cap")
    train.add_argument("--test", type=Path, help="test grid, only measured (not used for training nor stopping)")
    train.add_argument("--kind", choices=("paper", "factorised"), default="paper",
                       help="paper: Gebran (2024)'s autoencoder + mapper (default); factorised: a network of "
                       "Teff, log g, [M/H], ξt, then v sin i and R as an exact broadening layer")
    train.add_argument("--fine-tune", action=argparse.BooleanOptionalAction, default=FINE_TUNE,
                       help="paper kind: then train decoder∘mapper end to end on the flux (default: on, as fit_or_load)")
    train.add_argument("--two-stage-out", type=Path, metavar="DIR",
                       help="paper kind, fine-tuned: also save the two-stage generator (the paper's method, "
                       "before fine-tuning) to DIR")
    train.add_argument("--seed", type=int, help="random seed (default: the profile's)")
    train.add_argument("--max-epochs", type=int, help="epoch cap of each stage (default: the profile's)")
    train.set_defaults(func=_train)

    gen = sub.add_parser(
        "generate",
        help="spectra from a trained emulator at the labels of a CSV",
        description="Labels outside the emulator's training ranges are refused unless --allow-extrapolation. "
        "Output by extension: .h5 (a specgen grid), .fits (flux image, WAVELENGTH and LABELS extensions) "
        "or .csv (a row per wavelength, a column per spectrum).",
    )
    _add_model(gen)
    gen.add_argument("--labels", type=Path, required=True, help="CSV with a column per label (other columns ignored)")
    gen.add_argument("--out", type=_spectra_file, required=True, help="output file: .h5, .fits or .csv")
    gen.add_argument("--allow-extrapolation", action="store_true", help="generate outside the training ranges")
    gen.add_argument("--batch-size", type=int, default=4096, help="spectra per network call (default 4096)")
    gen.set_defaults(func=_generate)

    ev = sub.add_parser(
        "evaluate",
        help="errors of an emulator on a test grid",
        description="Autoencoder reconstruction and generator errors on a grid's spectra (continuum units), "
        "with the mean-spectrum baseline; test rows outside the training ranges are extrapolated and counted.",
    )
    _add_model(ev)
    ev.add_argument("--grid", type=Path, required=True, help="test grid (HDF5), e.g. from synth or import-ascii")
    ev.add_argument("--json", type=Path, help="also write the metrics to this JSON file")
    ev.set_defaults(func=_evaluate)

    val = sub.add_parser(
        "validate",
        help="Tab. 5: label recovery from radiative-transfer and generated spectra",
        description="Fit PCA + networks (Tab. 4) on the training grid, then recover the labels of its training "
        "and validation rows, of the test grid, and of spectra generated at the test labels. Prints RMSE per "
        "label and RMSE(generated)/RMSE(test).",
    )
    _add_model(val)
    val.add_argument("--train", type=Path, required=True, help="radiative-transfer training grid (HDF5)")
    val.add_argument("--test", type=Path, required=True, help="radiative-transfer test grid (HDF5)")
    _add_profile(val, "estimator recipe and epoch cap")
    val.add_argument("--joint", action="store_true", help="one network for all labels, not one per label")
    val.add_argument("--max-epochs", type=int, help="epoch cap of each network (default: the profile's)")
    val.add_argument("--json", type=Path, help="also write Tab. 5 to this JSON file")
    val.set_defaults(func=_validate)

    fit = sub.add_parser(
        "fit",
        help="labels of spectra fitted through the generator (χ² with TensorFlow gradients)",
        description="Fit one observed spectrum (resampled onto the model's wavelengths, in its medium), or every "
        "spectrum of a grid file, by minimising χ² through decoder∘mapper from several starts inside the training "
        "ranges; uncertainties from the curvature (the noise, and with --model-error the generator's own error). "
        "A label flagged at_bound sits on the edge of the training range: the star is probably outside the "
        "model's domain.",
    )
    _add_model(fit)
    what = fit.add_mutually_exclusive_group(required=True)
    what.add_argument("--spectrum", type=Path,
                      help="observed spectra: a Gaia RVS CSV/FITS/VOTable (every source in it), an ASCII or 1-D "
                      "FITS spectrum, or a folder of them (fitted together)")
    what.add_argument("--spectra", type=Path,
                      help="spectra on the model's wavelengths: a grid file (HDF5); with --out also a folder of "
                      "observed spectrum files (each resampled, as --spectrum)")
    fit.add_argument("--snr", type=float,
                     help="signal-to-noise per pixel, σ = 1/snr (default: the file's flux errors; 100 for --spectra)")
    resolution = fit.add_mutually_exclusive_group()
    resolution.add_argument("--resolution", type=float, metavar="R",
                            help="with --spectrum (or a folder with --out): the observation's resolving power λ/Δλ, held "
                            "in the fit; a "
                            "spectrum sharper than the model's training range is first degraded to its top")
    resolution.add_argument("--fit-resolution", action="store_true",
                            help="fit the resolution even when the instrument's is known (Gaia RVS: 11,500)")
    fit.add_argument("--medium", choices=MEDIA,
                     help="with --spectrum (or a folder with --out): the medium of the files' wavelengths (default: "
                     "vacuum for Gaia products and FITS with CTYPE1 WAVE, air otherwise)")
    fit.add_argument("--fit-velocity", action="store_true",
                     help="with --spectrum: also measure the radial velocity (spectra not in the rest frame)")
    fit.add_argument("--model-error", type=Path, metavar="GRID.h5",
                     help="add the generator's own error per pixel to σ in quadrature: the RMS of generated − "
                     "radiative-transfer flux over this grid's spectra (held out from training, not the stars fitted)")
    fit.add_argument("--macroturbulence", type=float, default=0.0, metavar="ZETA",
                     help="hold a radial–tangential macroturbulence ζ_RT (km/s, Gray) in the fit: the model's spectra "
                     "convolved with its profile (default 0: none, as in the training spectra)")
    fit.add_argument("--continuum", type=_degree, metavar="DEGREE",
                     help="with --spectrum: multiply the model by a Legendre polynomial of this degree in wavelength, "
                     "fitted with the labels (a low-order continuum correction)")
    fit.add_argument("--plot", type=Path, help="with --spectrum: save the observed and best-fit spectra to this image")
    fit.add_argument("--fix", action="append", default=[], type=_fixed_label, metavar="NAME=VALUE",
                     help="hold a label fixed, e.g. --fix resolution=11500 (repeatable)")
    fit.add_argument("--starts", type=int, help="starting points per spectrum: the labels of the generated spectra of a "
                     "seeded library that match it best (default: fit_labels', 2)")
    fit.add_argument("--json", type=Path, help="also write the fits to this JSON file")
    fit.add_argument("--out", type=Path, metavar="FITS.parquet",
                     help="with --spectra: fit in chunks of bounded memory and write one row per spectrum (labels, "
                     "1σ, chi2_dof, flag and reason; provenance and units in the metadata) to this .parquet or .csv. "
                     "Resumable: rerun the same command after an interruption; bad spectra are flagged, not fatal")
    fit.add_argument("--chunk-size", type=int, metavar="N",
                     help="with --out: spectra (grid rows, or files of a folder) per chunk (default 256)")
    fit.add_argument("--scheduler", help="with --out: spread the chunks over this dask scheduler's workers, e.g. "
                     "tcp://host:8786 (they read --model from its path); default: one chunk after another here")
    fit.set_defaults(func=_fit)

    so = sub.add_parser(
        "shootout",
        help="chapter 7: six emulators trained on one grid and measured on another",
        description="Train the paper's autoencoder + mapper, the same fine-tuned, PCA + mapper, a Payne-style MLP, "
        "a conditional VAE and the factorised kind on one grid with the profile's recipe, then print their flux errors on the test "
        "grid, training seconds and generation speed beside the mean training spectrum.",
    )
    so.add_argument("--train", type=Path, required=True, help="training grid (HDF5)")
    so.add_argument("--test", type=Path, required=True, help="held-out test grid (HDF5)")
    _add_profile(so, "training recipe and seed")
    so.add_argument("--max-epochs", type=int, default=20, help="epoch cap per stage of the Tab. 2-3 networks")
    so.add_argument("--small-max-epochs", type=int, default=100, help="epoch cap of the MLP, the VAE and the factorised kind")
    so.add_argument("--json", type=Path, help="also write the table to this JSON file")
    so.add_argument("--plot", type=Path, help="also draw |residual| against wavelength to this image")
    so.set_defaults(func=_shootout)

    card = sub.add_parser(
        "card",
        help="measure a generator's model card (MODEL_CARD.md and card.json)",
        description="Domain, training data, accuracy on a held-out test grid (overall and against each label), "
        "Tab. 5 ratios with 68% intervals over test stars, speed, physics and limits.",
    )
    _add_model(card)
    card.add_argument("--train", type=Path, required=True, help="the generator's training grid (fits Tab. 5's estimator)")
    card.add_argument("--test", type=Path, required=True, help="held-out test grid of independent stars")
    _add_profile(card, "estimator recipe")
    card.add_argument("--per-label-estimator", action="store_true",
                      help="Tab. 5 with one estimator network per label, as the paper (6× slower; default: one for all)")
    card.add_argument("--out", type=Path, help="directory for MODEL_CARD.md and card.json (default: the model's)")
    card.add_argument("--reference", type=int, default=3,
                      help="test stars, one spectrum each, shipped beside the model in reference/ (default 3)")
    card.set_defaults(func=_card)

    sw = sub.add_parser(
        "sweep",
        help="run notebooks over a grid of papermill parameters on Dask (resumable)",
        description="Run the notebooks of a sweep file at every combination of its axes, each point in its own "
        "run directory, in parallel on a dask LocalCluster or a given scheduler. Points already done are not "
        "redone; a failed point is recorded with its traceback and stops no other. See specgen.studies.sweeps.",
    )
    sw.add_argument("spec", type=Path, help="sweep file (YAML)")
    sw.add_argument("--workers", type=int, help="LocalCluster worker processes (default: the file's, else 2)")
    sw.add_argument("--scheduler", help="dask scheduler address, e.g. of a dask-jobqueue SLURMCluster")
    sw.set_defaults(func=_sweep)

    rep = sub.add_parser("sweep-report", help="one table of every point of a sweep: parameters, state, metrics")
    rep.add_argument("runs", type=Path, help="the sweep's run directory")
    rep.add_argument("--csv", type=Path, help="write the table here (default: RUNS/report.csv)")
    rep.set_defaults(func=_sweep_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "fit" and (args.plot or args.fit_velocity or args.continuum is not None) and not args.spectrum:
        parser.error("--plot, --fit-velocity and --continuum need --spectrum")
    errors: tuple[type[Exception], ...] = (GridError, LabelError, SpectrumError, FileNotFoundError, KeyError)
    if args.command == "sweep":
        from specgen.studies.sweeps import SweepError

        errors += (SweepError,)
    if args.command in ("train", "generate", "evaluate", "validate", "fit"):  # the commands that load TensorFlow
        from specgen.model.emulator import EmulatorError

        errors += (EmulatorError,)
    try:
        args.func(args)
    except errors as err:
        print(f"specgen {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
