"""Block Kit views. Every text is escaped and cut to Slack's limits, whatever the agent sent."""
