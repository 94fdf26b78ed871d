"""``python -m omnet`` runs the command line (what the Slicer module launches)."""

import sys

from omnet.cli import main

sys.exit(main())
