"""``python -m imagegate`` runs the CLI."""

from imagegate.cli import main

raise SystemExit(main())
