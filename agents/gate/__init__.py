"""The trust boundary: the write gate (no change without an approved card), the argument checks (no
argument reaches an API path it does not name), the frozen manifests an approval runs, and the audit log."""
