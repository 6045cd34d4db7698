"""A sample support agent: pushes realistic actions so the policy shows each mode.

Run it while `make run` (the sandbox) or `signoff up` is running:  .venv/bin/python -m examples.agent
"""

from __future__ import annotations

from examples.actions import delete_file, issue_refund, send_email, update_crm
from signoff import Status

ROUTED = (Status.PENDING_APPROVAL, Status.SUCCEEDED, Status.FAILED, Status.REJECTED)


def main() -> None:
    tickets = {
        "email to a customer": send_email.request(
            to="sarah@client.com", subject="Your Q3 invoice",
            body="Hi Sarah,\n\nAttached is the corrected invoice for Q3.\n\nBest,\nSupport",
            agent="support-bot", reason="Sarah reported the Q3 invoice total was wrong"),
        "email to a colleague": send_email.request(
            to="ops@acme.com", subject="Invoice fixed", body="The Q3 invoice for Sarah is corrected.",
            agent="support-bot", reason="Let ops know the ticket is closed"),
        "refund of 25 USD": issue_refund.request(
            customer_id="cus_8812", amount=25, agent="support-bot", reason="Late delivery; policy allows 25 USD"),
        "refund of 1,200 USD": issue_refund.request(
            customer_id="cus_4410", amount=1200, agent="support-bot", reason="Customer threatens to churn"),
        "CRM update": update_crm.request(
            record_id="acct_31", field="stage", value="renewal", agent="crm-bot", reason="Contract ends in 30 days"),
        "file deletion": delete_file.request(
            path="/exports/2023/old-report.csv", agent="ops-bot", reason="Retention period passed"),
    }
    for what, ticket in tickets.items():
        action = ticket.wait_until(*ROUTED, timeout=10)
        print(f"{what:<22} {ticket.id}  {action.status:<17} rule: {action.rule}")
    print("\nWaiting for a person: .venv/bin/signoff list --status pending_approval")


if __name__ == "__main__":
    main()
