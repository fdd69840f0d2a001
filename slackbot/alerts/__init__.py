"""Alerts open investigations: Alertmanager and CloudWatch (via SNS) notifications become one Slack
thread per alert group, with a header that follows the group and an investigation in the thread.

`model` is the one shape both sources are read into; the sources (`alertmanager`, `sns`), the store,
the header and the listener each live in a module of their own.
"""
