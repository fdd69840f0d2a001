"""The Slack front end: Bolt over Socket Mode, one thread per question, answers streamed in place, and
approval cards. It builds the agents through `agents.compose` and only shows what they send back."""
