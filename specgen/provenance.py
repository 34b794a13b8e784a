"""The book's provenance block: the profile it was built with, when, with which packages, on which
device, and downloads of the trained generator and of the grids' provenance.

``make notebooks`` runs it after the last chapter; the front page includes the block it writes:

    python -m specgen.provenance --profile demo      # writes book/_build_info/
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from specgen.grid import read_attrs
from specgen.runtime.profiles import PROFILES, get_profile, project_root

#: Distributions whose versions the block lists, in this order.
PACKAGES = (
    "specgen", "tensorflow", "keras", "numpy", "scikit-learn", "h5py", "pysme-astro", "atmosnet",
    "dask", "astropy", "papermill", "jupyter-book",
)
#: Where the block and its downloads go, relative to the repository root (included by book/intro.md).
BUILD_INFO = Path("book") / "_build_info"


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` ("not installed" where missing)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_build_info(profile: str, root: str | Path | None = None) -> Path:
    """Write ``book/_build_info/``: ``block.md`` (included by the front page), the saved generator of
    ``profile`` as a zip and the provenance of its train and test grids as JSON. Returns ``block.md``."""
    from specgen.runtime.backend import device_name

    root = Path(root or project_root())
    prof = get_profile(profile)
    out = root / BUILD_INFO
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    grids = {split: prof.data_dir(root) / f"{split}.h5" for split in ("train", "test")}
    record = {
        "profile": prof.as_dict(),
        "built_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device_name(),
        "versions": package_versions(),
        "grids": {split: read_attrs(path) for split, path in grids.items() if path.exists()},
    }
    (out / f"provenance-{profile}.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    downloads = [f"[provenance of the build and its grids (JSON)](_build_info/provenance-{profile}.json)"]
    model = prof.model_dir(root) / "emulator"
    if (model / "emulator.json").exists():
        archive = shutil.make_archive(str(out / f"specgen-generator-{profile}"), "zip", model.parent, model.name)
        size = Path(archive).stat().st_size / 2**20
        downloads.insert(0, f"[the trained generator (zip, {size:.0f} MB)](_build_info/{Path(archive).name}): "
                            "unzip, then `specgen.Emulator.load(\"emulator\")`")
    spectra = ", ".join(
        f"{attrs.get('n_stars_planned', '?')} {split} stars × {attrs.get('variants', '?')} variants"
        for split, attrs in record["grids"].items()
    )
    rows = {
        "profile": f"`{profile}` ({spectra or 'no grid found'})",
        "built": record["built_utc"].replace("T", " ").replace("+00:00", " UTC"),
        "device": record["device"],
        "packages": ", ".join(f"{name} {version}" for name, version in record["versions"].items()),
        "downloads": " · ".join(downloads),
    }
    block = ["```{admonition} This build", ":class: note", "", "| what | of this build |", "| --- | --- |"]
    block += [f"| {key} | {value} |" for key, value in rows.items()]
    block += ["```", ""]
    (out / "block.md").write_text("\n".join(block))
    return out / "block.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), required=True)
    parser.add_argument("--root", type=Path, help="repository root (default: found from the working directory)")
    args = parser.parse_args(argv)
    print(f"wrote {write_build_info(args.profile, args.root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
