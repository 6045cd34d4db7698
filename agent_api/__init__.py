"""The HTTP API agents use: ask for an action, read it, wait for it, cancel it, report what they did.

An agent holds a token (`signoff agents token create`), never Redis credentials or the decision key:
there is no route through which it could approve, reject, edit, flag or change policy.
"""
