"""``python -m bot`` is the same as the ``selfie-bot`` command."""

import sys

from bot.app.cli import main

sys.exit(main())
