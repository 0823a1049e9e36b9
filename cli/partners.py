"""`attesta partners …`: the organisations allowed to enrol trainees, and their API keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.client import segment
from cli.errors import OK
from cli.output import print_fields, print_json, print_table
from cli.registry import Context, Subcommands, command, group

KEY_WARNING = (
    "warning: the API key is shown only this once (the server keeps only a hash); "
    "give it to the partner now."
)


def register(commands: Subcommands) -> None:
    partners = group(commands, "partners", help="partners and their API keys")

    create = command(partners, "create", create_partner, help="create a partner and its first key")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--contact-email", metavar="E", help="whom to contact at the partner")

    command(partners, "list", list_partners, help="list every partner and its keys")

    rotate = command(
        partners,
        "rotate-key",
        rotate_key,
        help="issue a new key for a partner",
        description="Issue a new key; the old keys keep working until revoked.",
    )
    rotate.add_argument("partner_id", metavar="PARTNER_ID")

    revoke = command(partners, "revoke-key", revoke_key, help="revoke one key of a partner")
    revoke.add_argument("partner_id", metavar="PARTNER_ID")
    revoke.add_argument("key_id", metavar="KEY_ID")


def create_partner(ctx: Context, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name}
    if args.contact_email:
        body["contact_email"] = args.contact_email
    created = ctx.api.json("POST", "/v1/partners", json=body)
    if ctx.as_json:
        print_json(created)
    else:
        print(f"Created partner {created['name']}")
        print_fields(
            [("id", created["id"]), ("key id", created["key_id"]), ("API key", created["api_key"])]
        )
    print(KEY_WARNING, file=sys.stderr)
    return OK


def list_partners(ctx: Context, args: argparse.Namespace) -> int:
    partners = list(ctx.api.pages("/v1/partners"))
    if ctx.as_json:
        print_json(partners)
        return OK
    print_table(
        ["id", "name", "contact email", "created", "keys"],
        [
            [p["id"], p["name"], p.get("contact_email"), p.get("created_at"), keys(p)]
            for p in partners
        ],
    )
    return OK


def keys(partner: dict[str, Any]) -> str:
    return ", ".join(
        k["key_id"] + (" (revoked)" if k.get("revoked_at") else "") for k in partner.get("keys", [])
    )


def rotate_key(ctx: Context, args: argparse.Namespace) -> int:
    issued = ctx.api.json("POST", f"/v1/partners/{segment(args.partner_id)}/keys")
    if ctx.as_json:
        print_json(issued)
    else:
        print(f"New key for partner {args.partner_id}")
        print_fields([("key id", issued["key_id"]), ("API key", issued["api_key"])])
        print("Older keys still work: revoke them with `attesta partners revoke-key`.")
    print(KEY_WARNING, file=sys.stderr)
    return OK


def revoke_key(ctx: Context, args: argparse.Namespace) -> int:
    ctx.api.request(
        "DELETE", f"/v1/partners/{segment(args.partner_id)}/keys/{segment(args.key_id)}"
    )
    if ctx.as_json:
        print_json({"partner_id": args.partner_id, "key_id": args.key_id, "revoked": True})
    else:
        print(f"Revoked key {args.key_id} of partner {args.partner_id}.")
    return OK
