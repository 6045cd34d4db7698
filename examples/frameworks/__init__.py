"""One runnable agent per framework, each on the framework's own offline test model (no API key).

With `make run` going, run one in a second terminal, decide in the sandbox, and watch the run resume
in the sandbox's worker:  .venv/bin/python -m examples.frameworks.openai_agents
"""
