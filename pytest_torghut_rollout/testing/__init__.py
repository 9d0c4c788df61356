"""Support for this project's own test corpus; nothing here imports pytest."""
