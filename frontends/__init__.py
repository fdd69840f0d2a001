"""The `sre-bot` command and the front ends that are not Slack: the terminal (`sre-bot ask`) and doctor.

The top of the tree: `cli.py` loads the settings and starts one front end (the terminal, doctor, or the
Slack bot in `slackbot/`); each builds the agents through the one composition root, `agents/compose.py`.
"""
