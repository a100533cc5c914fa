"""Bagisto: its client, wire shapes and emulator."""
