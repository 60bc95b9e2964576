"""Lines a child process prints on stdout when a worker thread has become stuck, so the quit
tests act at that moment without sleeping. Kept apart from stuck_keyring.py: importing that
module defines a keyring backend, which keyring would then offer to the test process itself."""

KEYRING = "STUCK: keyring"
DNS = "STUCK: dns"
