"""A sample support agent: pushes realistic actions so the default policy shows each mode.

Run it while `make run` is up:  .venv/bin/python -m examples.agent
"""

from __future__ import annotations

from examples.actions import delete_file, issue_refund, send_email, update_crm


def main() -> None:
    tickets = {
        "email to a customer": send_email.request(
            to="sarah@client.com", subject="Your Q3 invoice",
            body="Hi Sarah,\n\nAttached is the corrected invoice for Q3.\n\nBest,\nSupport",
            agent="support-bot", reason="Sarah reported the Q3 invoice total was wrong"),
        "refund of 25 USD": issue_refund.request(
            customer_id="cus_8812", amount=25, agent="support-bot", reason="Late delivery, policy allows 25 USD"),
        "refund of 1,200 USD": issue_refund.request(
            customer_id="cus_4410", amount=1200, agent="support-bot", reason="Customer threatens to churn"),
        "CRM update": update_crm.request(
            record_id="acct_31", field="stage", value="renewal", agent="crm-bot", reason="Contract ends in 30 days"),
        "file deletion": delete_file.request(
            path="/exports/2023/old-report.csv", agent="ops-bot", reason="Retention period passed"),
    }
    for what, ticket in tickets.items():
        outcome = ticket.wait(timeout=5)
        print(f"{what:<22} {ticket.id}  {outcome.status}")
    print("\nWaiting for a person: .venv/bin/signoff list --status pending_approval")


if __name__ == "__main__":
    main()
