"""``python -m evosnn.cli``: the same as the ``evosnn`` console script."""

from __future__ import annotations

import sys

from evosnn.cli import main

sys.exit(main())
