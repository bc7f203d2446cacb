"""`python -m sandbox` is the `sandbox` command."""

import sys

try:
    from sandbox.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing torch: still no traceback
    sys.exit(130)

sys.exit(main())
