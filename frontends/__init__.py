"""Front ends other than Slack: the terminal (`sre-bot ask`) and `sre-bot doctor`.

They sit above `agents/` as `slackbot/` does, and use the same pieces: settings, the capabilities'
assistant, the runner. `slackbot/cli.py` dispatches the `sre-bot` command to them.
"""
