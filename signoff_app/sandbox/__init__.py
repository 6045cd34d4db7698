"""A local Slack: the Web API methods Signoff uses, a workspace to click in, signed interactions.

It is the stand-in the test suite uses and what `signoff sandbox` shows a newcomer; it binds to
127.0.0.1 only and is never started by the production processes.
"""

from signoff_app.sandbox.server import SlackSandbox
from signoff_app.sandbox.workspace import Workspace

__all__ = ["SlackSandbox", "Workspace"]
