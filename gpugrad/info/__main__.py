"""``python -m gpugrad.info``: print the environment report."""

from . import main

main()
