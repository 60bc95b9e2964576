"""Token Vault: keeps API access tokens fresh; every secret stays in the OS keyring."""

__version__ = "0.1.0"
