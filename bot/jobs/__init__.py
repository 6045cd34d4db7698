"""RQ jobs that talk to Slack, run by the workers on the `signoff-slack` queue (named by the
composition root, so the workers never import the Slack app)."""

#: Modules defining the Slack app's jobs, for the worker to load.
JOB_MODULES = ("bot.jobs.slack", "bot.jobs.digests", "bot.jobs.home")
