"""`python -m sandbox.cli` is the `sandbox` command, as `python -m sandbox` is."""

import sys

from sandbox.cli import main

sys.exit(main())
