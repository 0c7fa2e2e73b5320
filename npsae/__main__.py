"""``python -m npsae`` runs the command line."""

import sys

from npsae.cli import main

sys.exit(main())
