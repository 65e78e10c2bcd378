"""Hydra configs of kanpde (installed as the package data ``kanpde.conf``)."""
