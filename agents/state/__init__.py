"""State behind small protocols, each with a local default: conversation memory (sessions), approvals,
and one-time claims (event dedupe); `factory` picks the implementations from settings."""
