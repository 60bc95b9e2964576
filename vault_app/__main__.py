"""`python -m vault_app` runs the same entry point as `token-vault`."""

from vault_app.entry import main

raise SystemExit(main())
