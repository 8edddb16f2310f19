"""Widgets of the console's screens."""
