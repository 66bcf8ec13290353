"""Breach-notification law rules as data: one TOML file per jurisdiction, validated by ``schema``."""
