"""``python -m supervisor COMMAND …``: the ``mockfleet`` command (``supervise`` runs the supervisor)."""

import sys

from .cli import main

sys.exit(main())
