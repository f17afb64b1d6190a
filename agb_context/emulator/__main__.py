"""``python -m agb_context.emulator``: serve the emulator until interrupted."""

from agb_context.emulator._cli import main

raise SystemExit(main())
