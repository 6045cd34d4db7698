"""The baseline for bench/interaction.py: plain Bolt acknowledging a no-op button, on the same web server."""

from __future__ import annotations

import os
import sys

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.web import create_web_app, serve
from signoff.logging import configure_logging


def main(port: int) -> None:
    configure_logging("json", "info")  # serve logs "bot_listening": the benchmark waits for that line
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], token_verification_enabled=False)

    @app.action("signoff_approve")
    def noop(ack: Ack) -> None:
        ack()

    serve(create_web_app(app, lambda: True), "127.0.0.1", port)


if __name__ == "__main__":
    main(int(sys.argv[1]))
