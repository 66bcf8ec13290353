"""Notices to individuals and regulators: what each law requires, composed once per person, rendered."""
