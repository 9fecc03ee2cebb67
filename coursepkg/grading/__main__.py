"""``python -m coursepkg.grading``: see :mod:`coursepkg.grading.cli`."""

from .cli import main

raise SystemExit(main())
