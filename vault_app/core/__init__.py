"""The Qt-free heart of Token Vault: model, providers, storage, refresh (DESIGN.md section 3)."""
