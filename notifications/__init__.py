"""The outbox, email rendering and delivery. Knows no domain: domains call down into it."""
