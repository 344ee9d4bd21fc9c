"""Use cases of the shared kernel: accounts and sign-in, the roster, the audit log."""
