"""Reading and judging artifacts: discovery, strict parsing, schema validation, references, the
rules, the notes ledger, waivers and git. No pytest here."""
