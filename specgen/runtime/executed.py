"""Whether a notebook executed earlier is still the one a rerun would give: a digest of its inputs.

``make notebooks`` runs the chapters in order; before each it computes this digest and reuses the
executed copy whose recorded digest matches, so a rebuild with nothing changed runs no chapter. The
digest covers what a chapter's outputs can depend on:

* the notebook itself and the profile it runs at;
* the library (every ``specgen/**/*.py``), ``pyproject.toml`` and the sweep files (``book/sweeps``);
* the size and modification time of every file under ``data/<profile>/``, ``models/<profile>/`` and
  ``runs/`` (a grid resynthesised or a model retrained changes them; the files are not read);
* the digest of the chapter before it, since a chapter reads what earlier ones made.

    python -m specgen.runtime.executed book/02_autoencoder.ipynb --profile demo --previous <digest>
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from specgen.runtime.profiles import get_profile, project_root

#: Inputs read as content, relative to the repository root: (folder, glob).
SOURCES = (("specgen", "**/*.py"), ("book/sweeps", "*.yaml"), (".", "pyproject.toml"))


def notebook_digest(notebook: str | Path, profile: str, previous: str = "", root: str | Path | None = None) -> str:
    """SHA-256 (hex) of the inputs of ``notebook`` run at ``profile`` after the chapter of digest ``previous``."""
    root = Path(root) if root is not None else project_root()
    prof = get_profile(profile)
    digest = hashlib.sha256(f"{previous}\n{profile}\n".encode())
    digest.update(Path(notebook).read_bytes())
    for folder, pattern in SOURCES:
        for path in sorted((root / folder).glob(pattern)):
            digest.update(f"\n{path.relative_to(root)}\n".encode())
            digest.update(path.read_bytes())
    for folder in (prof.data_dir(root), prof.model_dir(root), root / "runs"):
        for path in _files(folder):
            stat = path.stat()
            digest.update(f"\n{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, without following links (a sweep point links data/)."""
    found = []
    for where, folders, files in os.walk(folder):
        folders.sort()
        found += [Path(where) / name for name in files if not (Path(where) / name).is_symlink()]
    return sorted(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--previous", default="", help="the digest of the chapter run before it")
    args = parser.parse_args(argv)
    print(notebook_digest(args.notebook, args.profile, args.previous))


if __name__ == "__main__":
    main()
