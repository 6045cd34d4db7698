"""The composition root: the `signoff` command, `signoff up`, the supervisor and the Slack sandbox.

The only code that knows every part (policies, the core, the Slack app and the workers) and puts
them together; nothing below imports it.
"""
