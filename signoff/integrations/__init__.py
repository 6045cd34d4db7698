"""Framework adapters: each framework's own pause for approval, decided in Slack through Signoff.

Each module imports its framework, which is an optional extra (`pip install signoff[openai-agents]`,
`signoff[pydantic-ai]`, `signoff[langchain]`): importing `signoff` imports none of them.
"""
