"""The shared state of several replicas: one DynamoDB table and one S3 bucket (STATE_BACKEND=aws).

One table, not one per store (single-table design): one thing to create (`sre-bot state init`), one IAM
resource to grant, one TTL setting. Each store's items carry a typed key prefix (`event#`, `lease#`,
`approval#`, `delivery#`, `group#`; layout in `table.py`), so the stores never meet. Every exactly-once
rule is a conditional write whose condition also checks expiry: DynamoDB's TTL deletes expired items
lazily (up to days later), so it only keeps the table small and never decides anything.
"""
