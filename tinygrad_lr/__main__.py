"""`python -m tinygrad_lr` runs the `tinygrad-lr` command."""

from .cli import main

raise SystemExit(main())
