"""``flexledger gateway``: run an organisation's REST service and manage its API users.

    flexledger gateway up --org agg1 [--port 27140] [--host 127.0.0.1]
    flexledger gateway users add --org agg1 alice --role aggregator
    flexledger gateway users token --org agg1 user1
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from flexledger.commands import UserError


def _profile(args: argparse.Namespace):
    from flexledger.home import profile_path
    from gateway.errors import ConfigError
    from gateway.profile import load_profile

    try:
        return load_profile(args.profile or profile_path(args.org))
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _up(args: argparse.Namespace) -> int:
    from flexledger.home import profile_path
    from gateway.errors import ConfigError
    from restapi.server import prepare, serve

    try:
        prepared = prepare(args.org, args.host, args.port, Path(args.profile) if args.profile else profile_path(args.org))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    print(f"flexledger gateway for {args.org} ({prepared.profile.msp_id}) at {prepared.url}", file=sys.stderr)
    print(f"  API docs:    {prepared.url}/docs", file=sys.stderr)
    print(f"  admin token: {prepared.admin_token_path} (0600)", file=sys.stderr)
    print(f"  peer:        {prepared.profile.peer.endpoint}, channel {prepared.profile.channel}", file=sys.stderr)
    serve(prepared, args.log_level, args.max_in_flight)
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from gateway.ca import CAClient, CAError
    from gateway.errors import ConfigError
    from gateway.identity import load_signer
    from restapi.auth import TOKEN_FILE, TokenStore

    profile = _profile(args)
    wallet = Path(profile.wallet)
    if (wallet / args.name / "cert.pem").exists():
        raise UserError(f"name: user {args.name!r} is already enrolled in {wallet}")
    registrar = next((n for n in ("registrar", "admin") if n in profile.identities), None)
    if registrar is None:
        raise UserError(f"profile: {args.org} has no registrar or admin identity to register users with")
    admin = profile.identities[registrar]
    ca = CAClient(profile.ca.url, profile.ca.name, profile.ca.tls_ca_cert)
    try:
        print(f"registering {args.name} ({args.role}) at {profile.ca.url} ...", file=sys.stderr)
        secret = ca.register(Path(admin.cert).read_bytes(), load_signer(admin.key), args.name, args.role,
                             secret=secrets.token_urlsafe(18))
        print(f"enrolling {args.name} ...", file=sys.stderr)
        ca.enroll(args.name, secret).save(wallet / args.name, args.role)
    except (CAError, ConfigError) as exc:
        raise UserError(str(exc)) from None
    finally:
        ca.close()
    token = TokenStore(wallet / TOKEN_FILE).issue(args.name)
    print(f"enrolled {args.name}: {wallet / args.name}", file=sys.stderr)
    print(token)
    return 0


def _users_token(args: argparse.Namespace) -> int:
    from gateway.errors import ConfigError
    from restapi.auth import TOKEN_FILE, TokenStore

    profile = _profile(args)
    try:
        profile.identity_files(args.name)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    store = TokenStore(Path(profile.wallet) / TOKEN_FILE)
    if args.revoke_old:
        store.revoke_user(args.name)
    print(store.issue(args.name))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gateway", help="run an organisation's REST service, manage API users",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="gateway_command", metavar="ACTION")
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--org", required=True, help="organisation (profile name), e.g. agg1")
        p.add_argument("--profile", help="connection profile (default: $FLEXLEDGER_HOME/profiles/ORG.json)")

    up = sub.add_parser("up", help="start the REST service in the foreground")
    common(up)
    up.add_argument("--host", default=None, help="listen address (default: from the profile's gateway_url, "
                                                 "else 127.0.0.1)")
    up.add_argument("--port", type=int, default=None, help="listen port (default: from the profile's "
                                                           "gateway_url, e.g. 27140 for agg1)")
    up.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    up.add_argument("--max-in-flight", type=_positive, default=None,
                    help="requests worked on at once; the rest wait (default 512)")
    up.set_defaults(func=_up)

    users = sub.add_parser("users", help="API users of an organisation")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION")
    users_sub.required = True
    add = users_sub.add_parser("add", help="register + enrol a user at the org's CA, print its API token")
    common(add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["aggregator", "dso", "tso", "auditor", "settlement"])
    add.set_defaults(func=_users_add)
    tok = users_sub.add_parser("token", help="print a new API token for an enrolled user")
    common(tok)
    tok.add_argument("name")
    tok.add_argument("--revoke-old", action="store_true", help="revoke the user's earlier tokens")
    tok.set_defaults(func=_users_token)
