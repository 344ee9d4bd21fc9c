"""Blueprints of the kernel."""
