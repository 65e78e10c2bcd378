"""Comparing runs: find run directories (runs.py), tabulate them (tables.py), draw them per problem
(figures.py); ``kanpde-compare`` (cli.py) does all three."""
from .runs import Run, find_runs, group
from .tables import LEVELS, summarize, write_tables

__all__ = ["LEVELS", "Run", "find_runs", "group", "summarize", "write_tables"]
