"""`python -m vault_app` runs the same entry point as `token-vault`."""

from vault_app.cli import main

raise SystemExit(main())
