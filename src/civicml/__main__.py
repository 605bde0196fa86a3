"""``python -m civicml`` runs the command line."""

from civicml.cli import main

main()
