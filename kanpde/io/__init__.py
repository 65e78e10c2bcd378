"""Run files: atomic writes, JSON/HDF5/checkpoints (files.py), meshio VTU/XDMF (vtu.py), PNG figures
(figures.py) and the output contract of a run directory (run_dir.py)."""
from .files import (
                    atomic_path,
                    load_checkpoint,
                    make_folder,
                    read_history,
                    read_json,
                    save_checkpoint,
                    save_figure,
                    write_history,
                    write_json,
)

__all__ = ["atomic_path", "load_checkpoint", "make_folder", "read_history", "read_json", "save_checkpoint", "save_figure",
           "write_history", "write_json"]
