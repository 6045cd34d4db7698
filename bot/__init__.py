"""The Slack app: Bolt listeners and the Block Kit views they send."""
