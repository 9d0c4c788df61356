"""The evidence record: what it says of each artifact, run and notes series, how it is built,
its JSON Schema, and merging and showing records. No pytest here."""
