"""Polar: its client, wire shapes and emulator."""
