"""Providers: one module per kind, all declared in `base.REGISTRY`."""

from vault_app.core.providers.base import Field, FieldKind, Provider, get_provider, kinds

__all__ = ["Field", "FieldKind", "Provider", "get_provider", "kinds"]
