"""The ``specgen`` command: a thin layer over the library.

    specgen synth --n-stars 100 --variants 10 --seed 1 --out grid.h5     # random Tab. 1 labels
    specgen synth --labels stars.csv --out stars.h5                      # given labels
    specgen synth --profile demo                                         # data/demo/{train,test}.h5
    specgen import-ascii spectra/ --labels labels.csv --out grid.h5     # another code's spectra
    specgen info grid.h5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grid import GridError, grid_summary, import_ascii, read_label_table
from .labels import LABEL_NAMES, LabelError
from .profiles import DEFAULT_PROFILE, PROFILES, get_profile


def _synth(args: argparse.Namespace) -> None:
    from .synth.database import plan_from_labels, random_plan, synthesize_grid, synthesize_profile

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
        plan = random_plan(args.n_stars, args.variants, args.seed)
    report = synthesize_grid(args.out, plan, workers=args.workers, scheduler=args.scheduler)
    if report.reused:
        print(f"{args.out} is already complete for these parameters: reused")
    print(grid_summary(args.out))


def _import_ascii(args: argparse.Namespace) -> None:
    path = import_ascii(args.directory, args.labels, args.out, medium=args.medium, code=args.code)
    print(grid_summary(path))


def _info(args: argparse.Namespace) -> None:
    print(grid_summary(args.grid))


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
    synth.add_argument("--out", type=Path, help="output HDF5 grid")
    synth.add_argument("--root", type=Path, default=Path("."), help="with --profile: where data/<profile>/ goes")
    synth.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    synth.add_argument("--scheduler", help="address of a dask.distributed scheduler, e.g. tcp://host:8786")
    synth.set_defaults(func=_synth)

    imp = sub.add_parser(
        "import-ascii",
        help="build a grid from two-column ASCII spectra (e.g. SYNSPEC/ROTIN output)",
        description="Each file holds wavelength (Å) and normalised flux; the labels CSV has a 'file' "
        "column and one column per label. Spectra are interpolated onto the 8400–8800 Å grid.",
    )
    imp.add_argument("directory", type=Path, help="folder of spectra")
    imp.add_argument("--labels", type=Path, required=True, help="CSV: file,<label>,<label>,...")
    imp.add_argument("--out", type=Path, required=True, help="output HDF5 grid")
    imp.add_argument("--medium", choices=["air", "vacuum"], default="air", help="wavelength medium (default air)")
    imp.add_argument("--code", default="unknown", help="radiative-transfer code, recorded as provenance")
    imp.set_defaults(func=_import_ascii)

    info = sub.add_parser("info", help="summarise a grid file: sizes, labels, provenance")
    info.add_argument("grid", type=Path)
    info.set_defaults(func=_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (GridError, LabelError, FileNotFoundError, KeyError) as err:
        print(f"specgen {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
