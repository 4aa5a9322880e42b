"""``python -m qleads.cli``: the ``qleads`` command."""

from qleads.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
