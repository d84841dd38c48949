"""`python -m tinygrad_lr` runs the `tinygrad-lr` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
