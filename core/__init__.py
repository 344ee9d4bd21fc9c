"""Beacon's shared kernel: database, clock, audit log, permissions, accounts and roster."""
