"""Afternoon: its client, wire shapes and emulator."""
