"""/accounts: register, the current account, its changelog."""

from __future__ import annotations

from aiohttp import web

from node.models.accounts import (
    AccountDelete,
    AccountEventOut,
    AccountOut,
    AccountPatch,
    RegisterIn,
    RegistrationOut,
)

from .context import client_of, identity_out, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .routing import Route, principal


async def register(request: web.Request) -> web.Response:
    body = await read_json(request, RegisterIn)
    reg = await services(request).accounts.register(
        body.username, body.email, body.password, invite_code=body.invite_code
    )
    out = RegistrationOut(
        account=AccountOut.of(reg.account), identity=identity_out(request, reg.identity)
    )
    return json_response(out, status=201)


async def get_current(request: web.Request) -> web.Response:
    account = await services(request).accounts.get(principal(request).account_guid)
    return json_response(AccountOut.of(account))


async def patch_current(request: web.Request) -> web.Response:
    body = await read_json(request, AccountPatch)
    who = principal(request)
    account = await services(request).accounts.update(
        who.account_guid,
        body.current_password,
        body.email,
        body.password,
        who.session_guid,
        remote=client_of(request),
    )
    return json_response(AccountOut.of(account))


async def delete_current(request: web.Request) -> web.Response:
    body = await read_json(request, AccountDelete)
    await services(request).accounts.delete(
        principal(request).account_guid, body.password, client_of(request)
    )
    return web.Response(status=204)


async def changelog(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).accounts.changelog(
        principal(request).account_guid, page
    )
    return page_response(request, [AccountEventOut.of(e) for e in items], result, page.limit)


ROUTES = [
    Route(
        "POST",
        "/accounts",
        register,
        "Register an account and its first identity",
        "Accounts",
        body=RegisterIn,
        response=RegistrationOut,
        status=201,
        auth=False,
        errors=(403, 409, 422),
    ),
    Route(
        "GET",
        "/accounts/current",
        get_current,
        "The caller's account",
        "Accounts",
        response=AccountOut,
        first_party=True,
    ),
    Route(
        "PATCH",
        "/accounts/current",
        patch_current,
        "Change email or password",
        "Accounts",
        body=AccountPatch,
        response=AccountOut,
        first_party=True,
        errors=(403, 409, 422, 429),
    ),
    Route(
        "DELETE",
        "/accounts/current",
        delete_current,
        "Delete the account and all its identities; 409 while they are a space's last admins",
        "Accounts",
        body=AccountDelete,
        status=204,
        first_party=True,
        errors=(403, 409, 429),
    ),
    Route(
        "GET",
        "/accounts/current/changelog",
        changelog,
        "Events of the account, newest first",
        "Accounts",
        response=list[AccountEventOut],
        first_party=True,
        paginated=True,
    ),
]
