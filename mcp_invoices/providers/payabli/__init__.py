"""Payabli: its client, wire shapes and emulator."""
