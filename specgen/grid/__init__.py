"""The spectral grid: the HDF5 file every later stage reads.

* :mod:`.format` — :class:`Grid`, the file format, reading, writing and resumable appending;
* :mod:`.intrinsic` — each star's stored intrinsic spectrum (group ``/intrinsic``), read back;
* :mod:`.ascii` — another code's spectra, one ASCII file per star, into a grid file;
* :mod:`.tables` — label tables (CSV), per-star logs and summaries of grid files.
"""

from specgen.grid.ascii import import_ascii
from specgen.grid.format import (
    FORMAT_VERSION,
    MEDIA,
    Grid,
    GridAppender,
    GridError,
    as_grid,
    check_medium,
    decode_attr,
    open_grid,
    provenance,
    read_attrs,
    read_grid,
    write_grid,
)
from specgen.grid.intrinsic import IntrinsicSpectra, read_intrinsic
from specgen.grid.tables import grid_summary, read_label_table, read_star_log

__all__ = [
    "FORMAT_VERSION",
    "MEDIA",
    "Grid",
    "GridAppender",
    "GridError",
    "IntrinsicSpectra",
    "as_grid",
    "check_medium",
    "decode_attr",
    "grid_summary",
    "import_ascii",
    "open_grid",
    "provenance",
    "read_attrs",
    "read_grid",
    "read_intrinsic",
    "read_label_table",
    "read_star_log",
    "write_grid",
]
