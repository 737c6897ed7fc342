"""The operator's command line: hearth init | serve | migrate | account | token | deliveries |
domain | media."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sqlite3
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from node.clock import SystemClock
from node.config import MAX_DAYS, ConfigError, NodeConfig, build_config, load_config
from node.errors import ApiError
from node.logs import setup_logging
from node.services.accounts import AccountService
from node.services.operations import OperationsService
from node.services.passwords import PasswordGate, Passwords
from node.services.principal import SCOPES
from node.services.rules import days_problem, invite_uses_problem, scopes_problem
from node.services.sessions import SessionService
from node.services.throttle import PasswordThrottle
from node.store import deliveries as delivery_store
from node.store import identities as identity_store
from node.store.db import Database, StorageError, make_data_dir
from node.store.migrate import migrate, pending
from node.urls import host_key

CONFIG_TEMPLATE = """\
# Hearth pod configuration. Every key is documented in config.example.toml.
[server]
host = "{host}"
port = {port}
public_url = "{public_url}"
# Processes serving the pod; set to this machine's number of cores to use them all.
workers = 1

[storage]
data_dir = "data"

[instance]
name = "Hearth"
registration = "open"
"""


DEFAULT_PORT = 8080


class CliError(Exception):
    """A problem to report as one line, exit status 1."""


def _load(args: argparse.Namespace) -> NodeConfig:
    return load_config(Path(args.config))


@dataclass(frozen=True)
class _Admin:
    """The services the operator's commands use (no delivery worker: the pod's sends)."""

    accounts: AccountService
    sessions: SessionService
    operations: OperationsService
    is_blocked: Callable[[str], bool]  # the config's blocks and the stored ones


@asynccontextmanager
async def _database(config: NodeConfig, *, create: bool) -> AsyncIterator[Database]:
    """The pod's database; made if missing when `create`, else a missing one is refused: a
    command run against a mistyped data_dir must not leave an empty database there, nor report
    on it (an empty queue, no blocks) or act on it as though it were the pod's."""
    if not create and not config.database_path.is_file():
        raise CliError(
            f"{config.database_path}: no database there (check storage.data_dir and"
            " storage.database; `hearth migrate` makes a new one)"
        )
    make_data_dir(config.storage.data_dir)
    db = Database(config.database_path)
    await db.open()
    try:
        yield db
    except sqlite3.OperationalError as exc:
        # Locked past the wait by another process (the pod's long write, a backup), a full
        # disk, a read-only file: the operator's to act on, in one line as every other error.
        busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
        why = "; another process kept it busy too long, try again" if busy else ""
        raise StorageError(f"{db.path}: {exc}{why}") from None
    finally:
        await db.close()


async def _current_schema(db: Database, *, new_ok: bool) -> None:
    """Refuse, changing nothing, a database this version of Hearth has migrations for that it
    lacks: run after an upgrade but before the pod's restart, a command that migrated it would
    change the schema under the old code still serving, read-only commands included. Only a
    database no migration has touched (`new_ok`: the command may make one) is migrated, as
    serve would: no pod has run on it."""
    missing, new = await pending(db)
    if not missing:
        return
    if new and new_ok:
        await migrate(db)
        return
    which = ", ".join(missing) if len(missing) <= 3 else f"{missing[0]} to {missing[-1]}"
    raise CliError(
        f"{db.path}: the database lacks the migrations of this version of Hearth ({which});"
        " run `hearth migrate` (or restart the pod, which applies them), then this command again"
    )


@asynccontextmanager
async def _pod(config: NodeConfig, *, create: bool) -> AsyncIterator[tuple[Database, _Admin]]:
    async with _database(config, create=create) as db:
        await _current_schema(db, new_ok=create)
        clock = SystemClock()
        passwords = Passwords(config.auth.argon2_time_cost, config.auth.argon2_memory_kib)
        gate = PasswordGate(passwords, PasswordThrottle.of(db, config.auth), clock)
        from federation.blocks import DomainBlocks
        from federation.outbox import Outbox
        from federation.urls import Urls

        # What the commands queue is delivered by the running pod's worker.
        blocks = DomainBlocks(config.federation.blocked_domains)
        blocks.load(await delivery_store.blocked_domains(db))
        outbox = Outbox(Urls(config.server.public_url), clock, lambda: None, blocks.is_blocked)
        yield (
            db,
            _Admin(
                AccountService(db, config, clock, passwords, gate, outbox),
                SessionService(db, config, clock, gate),
                OperationsService(db, clock),
                blocks.is_blocked,
            ),
        )


def cmd_init(args: argparse.Namespace) -> None:
    from urllib.parse import urlsplit

    target = Path(args.dir)
    config_path = target / "config.toml"
    if config_path.exists():
        raise CliError(f"{config_path} exists; refusing to overwrite it")
    parts = urlsplit(args.public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError("--public-url: must be an absolute http(s) URL")
    try:
        url_port = parts.port
    except ValueError:
        raise CliError("--public-url: the port is not a number from 0 to 65535") from None
    # Without an explicit port the public URL is a reverse proxy's (80/443); the pod listens on
    # an unprivileged port behind it.
    port = args.port if args.port is not None else url_port or DEFAULT_PORT
    text = CONFIG_TEMPLATE.format(host=args.host, port=port, public_url=args.public_url.rstrip("/"))
    from node.serve import ServeError, check_host

    try:  # what init writes must load, and serve with: check before writing anything
        config = build_config(tomllib.loads(text), env={})
        check_host(config.server.host)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise CliError(f"--public-url/--host/--port: {exc}") from None
    except ServeError as exc:
        raise CliError(f"--host: {exc}") from None
    try:
        target.mkdir(parents=True, exist_ok=True)
        make_data_dir(target / "data")
        config_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {config_path}: {exc.strerror or exc}") from None
    print(f"wrote {config_path}; start the pod with: hearth serve --config {config_path}")


def cmd_serve(args: argparse.Namespace) -> None:
    config = _load(args)  # before importing the app: a bad config is reported on its own
    from node.serve import ServeError, serve

    # What the pod writes (the database and its journals, uploaded media) is its user's alone.
    umask = os.umask(0o077)
    # The pod stops cleanly on SIGINT and SIGTERM and runs the cleanup contexts.
    try:
        serve(config)
    except ServeError as exc:
        raise CliError(str(exc)) from None
    finally:
        os.umask(umask)


async def _migrate(config: NodeConfig) -> None:
    started = time.monotonic()

    def starting(name: str) -> None:
        # Progress on standard error, as it happens; the summary goes to standard output.
        print(f"applying {name} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)

    async with _database(config, create=True) as db:
        applied = await migrate(db, starting)
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(_migrate(_load(args)))


def _password(args: argparse.Namespace) -> str:
    password = _read_password(args)
    try:
        password.encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as surrogates
        raise CliError("the password is not UTF-8 text") from None
    return password


def _read_password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise CliError(f"--password-env: {args.password_env} is not set")
        return value
    if not sys.stdin.isatty():
        # The line's end, CR LF too (a file written on Windows): a CR left at the end of the
        # password could never be typed at a login.
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Again: ")
    except EOFError:  # Ctrl-D at the prompt
        raise CliError("no password given") from None
    if first != again:
        raise CliError("the passwords differ")
    return first


async def _account_create(config: NodeConfig, username: str, email: str, password: str) -> None:
    async with _pod(config, create=True) as (_, services):
        reg = await services.accounts.register(username, email, password, by_operator=True)
    print(
        f"account {reg.account.guid} with identity {username}@{config.host} ({reg.identity.guid})"
    )


def cmd_account_create(args: argparse.Namespace) -> None:
    config = _load(args)
    asyncio.run(_account_create(config, args.username, args.email, _password(args)))


async def _account_password(
    config: NodeConfig, username: str, password: str, generated: bool
) -> None:
    async with _pod(config, create=False) as (db, services):
        ident = await identity_store.get_by_handle(db, username, None)
        if ident is None or ident.account_guid is None:
            raise CliError(f"no local identity named {username}")
        ended = await services.accounts.reset_password(ident.account_guid, password)
    if generated:
        # Once set, alone on standard output, for the operator to hand over: a password
        # printed before a failure would be handed over though it was never set.
        print(password)
    print(f"new password set for the account of {ident.username}; login sessions ended: {ended}",
          file=sys.stderr)  # fmt: skip


def cmd_account_password(args: argparse.Namespace) -> None:
    config = _load(args)
    password = secrets.token_urlsafe(15) if args.generate else _password(args)
    asyncio.run(_account_password(config, args.username, password, args.generate))


async def _account_invite(config: NodeConfig, max_uses: int, days: float | None) -> None:
    async with _pod(config, create=True) as (_, services):
        print(await services.accounts.create_invite(max_uses, days))
    # Codes are asked for in the "invite" mode only: in another the operator hands over a code
    # that does nothing (open) or that the pod refuses with the rest (closed). It is kept, and
    # works once the mode is "invite", so it is printed still, with why it does not work yet.
    why = {
        "closed": "registration is closed",
        "open": "registration is open to anyone without a code",
    }.get(config.instance.registration)
    if why:
        print(
            f'{why}: the code counts only once instance.registration is "invite"', file=sys.stderr
        )


def cmd_account_invite(args: argparse.Namespace) -> None:
    asyncio.run(_account_invite(_load(args), args.max_uses, args.days))


async def _token_create(
    config: NodeConfig, username: str, name: str, scopes: frozenset[str], days: float | None
) -> None:
    async with _pod(config, create=False) as (db, services):
        ident = await identity_store.get_by_handle(db, username, None)
        if ident is None or ident.account_guid is None:
            raise CliError(f"--username: no local identity named {username}")
        token, session = await services.sessions.create_app_token(
            ident.account_guid, ident.guid, name, scopes, days
        )
    print(token)
    print(f"token {session.guid} for {username}: {' '.join(sorted(scopes))}", file=sys.stderr)


def cmd_token_create(args: argparse.Namespace) -> None:
    asyncio.run(_token_create(_load(args), args.username, args.name, args.scopes, args.days))


async def _deliveries_status(config: NodeConfig, dead: bool) -> None:
    async with _pod(config, create=False) as (_, admin):
        hosts = await admin.operations.queue()
        letters = await admin.operations.dead_letters() if dead else []
    if not hosts:
        print("the delivery queue is empty")
    for h in hosts:
        state = " (paused)" if h.paused else ""
        print(
            f"{_shown(h.host)}{state}: {h.pending} pending, {h.running} running, {h.dead} dead;"
            f" next try {h.next_attempt_at or '-'}"
        )
    for d in letters:
        print(
            f"dead {d.guid} {d.activity_type} -> {_shown(d.inbox)}: {d.attempts} tries,"
            f" last {d.last_status or '-'} {d.last_error or ''}".rstrip()
        )
    # Only the latest are listed: say how many are left out, rather than seem to be all.
    if dead and (more := sum(h.dead for h in hosts) - len(letters)) > 0:
        print(f"... and {more} more dead deliveries, given up on earlier")


def _shown(text: str) -> str:
    """Text another pod chose (an inbox URL, its host) as printed to the operator's terminal:
    what is not printable (escape sequences, which the terminal would run, line breaks,
    directional overrides) is shown escaped."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def cmd_deliveries_status(args: argparse.Namespace) -> None:
    asyncio.run(_deliveries_status(_load(args), args.dead))


async def _deliveries_retry(config: NodeConfig, host: str | None) -> None:
    async with _pod(config, create=False) as (_, admin):
        count = await admin.operations.retry(host, admin.is_blocked)
    print(f"{count} deliveries due now; a running pod sends them within seconds")


def cmd_deliveries_retry(args: argparse.Namespace) -> None:
    asyncio.run(_deliveries_retry(_load(args), args.host))


async def _domain(config: NodeConfig, action: str, domain: str | None) -> None:
    from federation.blocks import DomainBlocks

    # A block may be set before the pod's first start; the rest need the pod's database.
    async with _pod(config, create=action == "block") as (_, admin):
        key, was = "", False
        if domain is not None:
            key, was = await admin.operations.set_block(domain, action == "block")
        # Every block the pod applies: the config's, then those stored by these commands.
        fixed = config.federation.blocked_domains
        blocks = [*((host_key(b), " (federation.blocked_domains in the config)") for b in fixed),
                  *((b, "") for b in await admin.operations.blocks())]  # fmt: skip
    if action == "list":
        for b, where in blocks:
            if b:  # a config entry that names no host blocks nothing
                print(b + where)
        return
    # What still refuses the domain after an unblock: a parent domain's block, the config's.
    still = ", ".join(b + where for b, where in blocks if DomainBlocks([b]).is_blocked(key))
    within = config.federation.blocks_reload_seconds
    if action == "block":
        print(f"{key} blocked; a running pod applies it within {within:g} s")
    elif not was:
        raise CliError(
            f"{key} is not blocked itself; it is blocked by {still}"
            if still
            else f"{key} is not blocked"
        )
    else:
        but = f", but still blocked by {still}" if still else ""
        print(f"{key} unblocked{but}; a running pod applies it within {within:g} s")


def cmd_domain(args: argparse.Namespace) -> None:
    asyncio.run(_domain(_load(args), args.action, getattr(args, "domain", None)))


async def _media_gc(config: NodeConfig) -> None:
    from node.services.media import local_media_service  # Pillow loads only when needed

    async with _pod(config, create=False) as (db, _):
        report = await local_media_service(db, config, SystemClock(), None).gc()
    print(
        f"removed {report.uploads} unfinished uploads, {report.blobs} unused files"
        f" and {report.files} temporary files"
    )


def cmd_media_gc(args: argparse.Namespace) -> None:
    asyncio.run(_media_gc(_load(args)))


T = TypeVar("T")


def _checked(
    name: str, parse: Callable[[str], T], problem: Callable[[T], str | None]
) -> Callable[[str], T]:
    """An argparse type: `parse` the text (ValueError: "invalid NAME value"), then refuse what
    `problem`, the rule the service applies too, finds wrong."""

    def convert(text: str) -> T:
        value = parse(text)
        if found := problem(value):
            raise argparse.ArgumentTypeError(found)
        return value

    convert.__name__ = name
    return convert


def _invite_days(text: str) -> float | None:
    days = float(text)
    return None if days == 0 else days  # 0: the code never expires


def _scopes(text: str) -> frozenset[str]:
    return frozenset(text.replace(",", " ").split())


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, as every other error of the command line; exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _with_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", default="config.toml", help="path to config.toml (default: ./config.toml)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hearth", description="Run and administer a Hearth pod.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="write DIR/config.toml and the data folder")
    p.add_argument("dir", help="folder to create the pod in")
    p.add_argument(
        "--public-url", default="http://127.0.0.1:8080", help="the URL peers and clients use"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="port to listen on (default: the public URL's explicit port, else 8080)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="start the pod")
    _with_config(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply database migrations")
    _with_config(p)
    p.set_defaults(func=cmd_migrate)

    account = sub.add_parser("account", help="manage accounts").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = account.add_parser("create", help="create an account (whatever the registration mode)")
    _with_config(p)
    p.add_argument("--username", required=True)
    p.add_argument("--email", required=True)
    p.add_argument(
        "--password-env",
        help="read the password from this environment variable"
        " (otherwise prompt, or read one line from standard input)",
    )
    p.set_defaults(func=cmd_account_create)
    p = account.add_parser(
        "password",
        help="set a new password for an account (its owner lost it); its login sessions end",
    )
    _with_config(p)
    p.add_argument("username", help="the account's local identity")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--password-env",
        help="read the password from this environment variable"
        " (otherwise prompt, or read one line from standard input)",
    )
    how.add_argument("--generate", action="store_true", help="make up a password and print it")
    p.set_defaults(func=cmd_account_password)
    p = account.add_parser("invite", help="print a registration invite code")
    _with_config(p)
    p.add_argument(
        "--max-uses",
        type=_checked("int", int, invite_uses_problem),
        default=1,
        help="registrations the code allows (default: 1)",
    )
    p.add_argument(
        "--days",
        type=_checked("float", _invite_days, days_problem),
        default=7.0,
        help=f"valid for this many days, at most {MAX_DAYS} (default: 7; 0: forever)",
    )
    p.set_defaults(func=cmd_account_invite)

    token = sub.add_parser("token", help="manage app tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = token.add_parser("create", help="issue an app token; prints it once")
    _with_config(p)
    p.add_argument("--username", required=True, help="the local identity the token acts as")
    p.add_argument("--name", default="cli", help="a label for the token")
    p.add_argument(
        "--scopes",
        type=_checked("scopes", _scopes, scopes_problem),
        default="profile public:read",
        help=f"space- or comma-separated; known: {' '.join(SCOPES)}",
    )
    p.add_argument(
        "--days",
        type=_checked("float", float, days_problem),
        default=None,
        help=f"expire after this many days, at most {MAX_DAYS} (default: never)",
    )
    p.set_defaults(func=cmd_token_create)

    deliveries = sub.add_parser("deliveries", help="the outgoing delivery queue").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = deliveries.add_parser("status", help="queue depth per host, and dead letters")
    _with_config(p)
    p.add_argument("--dead", action="store_true", help="also list deliveries given up on")
    p.set_defaults(func=cmd_deliveries_status)
    p = deliveries.add_parser("retry", help="make dead and waiting deliveries due now")
    _with_config(p)
    p.add_argument("--host", help="only deliveries to this host[:port]")
    p.set_defaults(func=cmd_deliveries_retry)

    domain = sub.add_parser("domain", help="block or unblock remote domains").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    for action, text in (("block", "refuse a domain both ways"), ("unblock", "lift a block")):
        p = domain.add_parser(action, help=text)
        _with_config(p)
        p.add_argument(
            "domain",
            help="host name or IP address, optionally with :port; a block covers subdomains,"
            " and every port unless it names one",
        )
        p.set_defaults(func=cmd_domain)
    p = domain.add_parser(
        "list", help="blocked domains: those in the config (federation.blocked_domains) first"
    )
    _with_config(p)
    p.set_defaults(func=cmd_domain)

    media = sub.add_parser("media", help="uploaded media").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = media.add_parser(
        "gc", help="remove uploads never completed (after media.pending_hours) and unused files"
    )
    _with_config(p)
    p.set_defaults(func=cmd_media_gc)
    return parser


# Paths, which may hold any bytes the file system takes; every other argument is text to store.
_PATH_ARGUMENTS = frozenset(("config", "dir"))


def _not_text(args: argparse.Namespace) -> str | None:
    """The first argument holding bytes that are not UTF-8 (kept by Python as surrogates)."""
    for name, value in vars(args).items():
        if isinstance(value, str) and name not in _PATH_ARGUMENTS and not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                return name
    return None


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    if bad := _not_text(args):
        parser.error(f"--{bad.replace('_', '-')}: not UTF-8 text")
    handler: Callable[[argparse.Namespace], Any] = args.func
    try:
        handler(args)
    except (ConfigError, CliError, StorageError) as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
        print(f"hearth: {exc.message}{' ' + detail if detail else ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, at a password prompt say
        print("\nhearth: interrupted", file=sys.stderr)  # after the prompt or ^C, on its own line
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
