"""The rollout contract as data: the phase table, vocabularies, layout and evidence paths, the
pydantic models the JSON Schemas are generated from, and the RFC 3339 grammar. It imports
nothing else of the package."""
