"""What a running Token Vault app offers beyond its window, all of it without Qt: the per-user
CLI socket (paths, protocol, server, client), the service object a window or `serve` starts,
the headless runner, its systemd unit, and the local reverse proxy that injects tokens.

The window only starts and shows these (tests/test_layout.py keeps Qt out of this package)."""
