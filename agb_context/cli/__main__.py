"""``python -m agb_context.cli``: the same as the ``agb-context`` command."""

from agb_context.cli import main

raise SystemExit(main())
