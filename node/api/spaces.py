"""/spaces: create, list, discover, read, update, delete; invites, joining, applications,
members and roles; the posts of a space."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import CONFIG
from node.models.social import PostOut
from node.models.spaces import (
    ApplicationIn,
    ApplicationOut,
    InviteIn,
    InviteOut,
    JoinIn,
    JoinOut,
    JoinTargetIn,
    MemberOut,
    RoleIn,
    SpaceIn,
    SpaceOut,
    SpacePatch,
)
from node.services.spaces import InviteView, JoinView, SpaceView
from node.store.identities import Identity
from node.store.spaces import Application, Member

from .context import identity_out, services
from .http import json_response, page_response, read_json
from .pagination import page_request
from .post_json import render_posts
from .routing import Handler, Route, principal


def space_out(request: web.Request, view: SpaceView) -> SpaceOut:
    s = view.space
    full = view.role is not None
    return SpaceOut(
        id=s.guid,
        name=s.name,
        handle=f"{s.name}@{s.domain or request.app[CONFIG].host}",
        uri=view.uri,
        display_name=s.display_name,
        description=s.description,
        visibility=s.visibility,
        join_mode=s.join_mode,
        local=s.local,
        role=view.role,  # type: ignore[arg-type]
        member_count=view.member_count,
        created_at=s.created_at if full else None,
        updated_at=s.updated_at if full else None,
    )


def _invite_out(view: InviteView) -> InviteOut:
    i = view.invite
    return InviteOut(
        space_id=i.space_guid,
        code=i.code,
        link=view.link,
        max_uses=i.max_uses,
        uses=i.uses,
        expires_at=i.expires_at,
        join_mode_override=i.join_mode_override,
        created_at=i.created_at,
    )


def _application_out(request: web.Request, app: Application, who: Identity) -> ApplicationOut:
    return ApplicationOut(
        id=app.guid,
        space_id=app.space_guid,
        applicant=identity_out(request, who),
        message=app.message,
        state=app.state,  # type: ignore[arg-type]
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


async def _join_out(request: web.Request, view: JoinView) -> JoinOut:
    app = None
    if view.application is not None:
        me = await services(request).identities.get(principal(request).identity_guid)
        app = _application_out(request, view.application, me)
    return JoinOut(
        state=view.state,  # type: ignore[arg-type]
        space=space_out(request, view.space),
        application=app,
    )


def _member_out(request: web.Request, m: Member, ident: Identity) -> MemberOut:
    return MemberOut(
        identity=identity_out(request, ident),
        role=m.role,  # type: ignore[arg-type]
        joined_at=m.joined_at,
    )


def _guid(request: web.Request) -> str:
    return request.match_info["guid"]


# --- spaces ---


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, SpaceIn)
    view = await services(request).spaces.create(
        principal(request),
        body.display_name,
        body.description,
        body.visibility,
        body.join_mode,
        body.name,
    )
    return json_response(space_out(request, view), 201)


async def mine(request: web.Request) -> web.Response:
    page = page_request(request)
    views, result = await services(request).spaces.mine(principal(request), page)
    return page_response(request, [space_out(request, v) for v in views], result, page.limit)


async def discover(request: web.Request) -> web.Response:
    page = page_request(request)
    text = request.query.get("q", "")[:100]
    views, result = await services(request).spaces.discover(principal(request), text, page)
    return page_response(request, [space_out(request, v) for v in views], result, page.limit)


async def get(request: web.Request) -> web.Response:
    view = await services(request).spaces.get(principal(request), _guid(request))
    return json_response(space_out(request, view))


async def update(request: web.Request) -> web.Response:
    body = await read_json(request, SpacePatch)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    view = await services(request).spaces.update(principal(request), _guid(request), changes)
    return json_response(space_out(request, view))


async def delete(request: web.Request) -> web.Response:
    await services(request).spaces.delete(principal(request), _guid(request))
    return web.Response(status=204)


async def posts(request: web.Request) -> web.Response:
    page = page_request(request)
    svc = services(request)
    who = principal(request)
    items, result = await svc.spaces.posts(who, _guid(request), page)
    body = await render_posts(request, items, who)
    return page_response(request, body, result, page.limit)


# --- invites and joining ---


async def make_invite(request: web.Request) -> web.Response:
    body = await read_json(request, InviteIn)
    view = await services(request).spaces.make_invite(
        principal(request),
        _guid(request),
        body.max_uses,
        body.expires_in_minutes,
        body.join_mode_override,
    )
    return json_response(_invite_out(view), 201)


async def my_invite(request: web.Request) -> web.Response:
    view = await services(request).spaces.my_invite(principal(request), _guid(request))
    return json_response(_invite_out(view))


async def revoke_invite(request: web.Request) -> web.Response:
    await services(request).spaces.revoke_invite(principal(request), _guid(request))
    return web.Response(status=204)


async def _optional_json(request: web.Request, model: type[JoinIn]) -> JoinIn:
    # POST /spaces/{id}/join needs no body for an instant space.
    if not request.can_read_body:
        return model()
    return await read_json(request, model)


async def join(request: web.Request) -> web.Response:
    body = await _optional_json(request, JoinIn)
    view = await services(request).spaces.join(
        principal(request), _guid(request), body.code, body.message
    )
    return json_response(await _join_out(request, view), 200 if view.state == "member" else 202)


async def join_target(request: web.Request) -> web.Response:
    body = await read_json(request, JoinTargetIn)
    view = await services(request).spaces.join_target(
        principal(request), body.target, body.code, body.message
    )
    return json_response(await _join_out(request, view), 200 if view.state == "member" else 202)


# --- applications ---


async def apply(request: web.Request) -> web.Response:
    body = await read_json(request, ApplicationIn)
    svc = services(request)
    who = principal(request)
    app = await svc.spaces.apply(who, _guid(request), body.message)
    me = await svc.identities.get(who.identity_guid)
    return json_response(_application_out(request, app, me), 201)


async def applications(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).spaces.applications(
        principal(request), _guid(request), request.query.get("state"), page
    )
    return page_response(
        request, [_application_out(request, a, i) for a, i in items], result, page.limit
    )


def _decide(approve: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        app, who = await services(request).spaces.decide(
            principal(request), _guid(request), request.match_info["app"], approve
        )
        return json_response(_application_out(request, app, who))

    handler.__name__ = "approve" if approve else "reject"
    return handler


async def withdraw(request: web.Request) -> web.Response:
    app, who = await services(request).spaces.withdraw(
        principal(request), _guid(request), request.match_info["app"]
    )
    return json_response(_application_out(request, app, who))


# --- members ---


async def members(request: web.Request) -> web.Response:
    page = page_request(request)
    items, result = await services(request).spaces.members(principal(request), _guid(request), page)
    out = [_member_out(request, m, i) for m, i in items]
    return page_response(request, out, result, page.limit)


async def set_role(request: web.Request) -> web.Response:
    body = await read_json(request, RoleIn)
    m, ident = await services(request).spaces.set_role(
        principal(request), _guid(request), request.match_info["identity"], body.role
    )
    return json_response(_member_out(request, m, ident))


async def remove_member(request: web.Request) -> web.Response:
    await services(request).spaces.remove_member(
        principal(request), _guid(request), request.match_info["identity"]
    )
    return web.Response(status=204)


async def leave(request: web.Request) -> web.Response:
    await services(request).spaces.leave(principal(request), _guid(request))
    return web.Response(status=204)


_READ = "public:read"
_WRITE = "public:modify"

ROUTES = [
    Route("POST", "/spaces", create, "Create a space (you are its admin)", "Spaces",
          body=SpaceIn, response=SpaceOut, status=201, scope=_WRITE, errors=(409, 422)),
    Route("GET", "/spaces", mine, "The spaces you belong to", "Spaces",
          response=list[SpaceOut], scope=_READ, paginated=True),
    Route("GET", "/spaces/discover", discover, "Public spaces of this pod", "Spaces",
          response=list[SpaceOut], scope=_READ, paginated=True,
          query={"q": "words in the name, display name or description"}),
    Route("POST", "/spaces/join", join_target,
          "Join a space by invite link, Group URL, `name@host` or code (remote: sends Follow)",
          "Spaces", body=JoinTargetIn, response=JoinOut, also=(202,), scope=_WRITE,
          errors=(403, 404, 409, 422)),
    Route("GET", "/spaces/{guid}", get,
          "A space: in full to members, limited to others if public", "Spaces",
          response=SpaceOut, scope=_READ, errors=(404,)),
    Route("PATCH", "/spaces/{guid}", update, "Change a space (admins)", "Spaces",
          body=SpacePatch, response=SpaceOut, scope=_WRITE, errors=(403, 404, 422)),
    Route("DELETE", "/spaces/{guid}", delete, "Delete a space and its posts (admins)", "Spaces",
          status=204, scope=_WRITE, errors=(403, 404, 422)),
    Route("GET", "/spaces/{guid}/posts", posts, "Posts in a space, newest first", "Spaces",
          response=list[PostOut], scope=_READ, paginated=True, errors=(404,)),
    Route("POST", "/spaces/{guid}/my-invite", make_invite,
          "Make your invite (replacing your old one and its code)", "Spaces",
          body=InviteIn, response=InviteOut, status=201, scope=_WRITE, errors=(403, 404, 422)),
    Route("GET", "/spaces/{guid}/my-invite", my_invite, "Your invite", "Spaces",
          response=InviteOut, scope=_WRITE, errors=(403, 404)),
    Route("DELETE", "/spaces/{guid}/my-invite", revoke_invite, "Revoke your invite", "Spaces",
          status=204, scope=_WRITE, errors=(403, 404)),
    Route("POST", "/spaces/{guid}/join", join,
          "Join (instant, or with an invite code); 202 when it became an application",
          "Spaces", body=JoinIn, body_optional=True, response=JoinOut, also=(202,),
          scope=_WRITE, errors=(403, 404, 409, 422)),
    Route("POST", "/spaces/{guid}/applications", apply, "Apply to join", "Spaces",
          body=ApplicationIn, response=ApplicationOut, status=201, scope=_WRITE,
          errors=(403, 404, 409, 422)),
    Route("GET", "/spaces/{guid}/applications", applications,
          "Applications: all of them for admins, your own otherwise", "Spaces",
          response=list[ApplicationOut], scope=_READ, paginated=True,
          query={"state": "pending, approved, rejected or withdrawn"}, errors=(404, 422)),
    Route("POST", "/spaces/{guid}/applications/{app}/approve", _decide(True),
          "Approve an application (admins)", "Spaces", response=ApplicationOut, scope=_WRITE,
          errors=(403, 404, 409)),
    Route("POST", "/spaces/{guid}/applications/{app}/reject", _decide(False),
          "Reject an application (admins)", "Spaces", response=ApplicationOut, scope=_WRITE,
          errors=(403, 404, 409)),
    Route("POST", "/spaces/{guid}/applications/{app}/withdraw", withdraw,
          "Withdraw your application", "Spaces", response=ApplicationOut, scope=_WRITE,
          errors=(404, 409)),
    Route("GET", "/spaces/{guid}/members", members, "Members of a space (members)", "Spaces",
          response=list[MemberOut], scope=_READ, paginated=True, errors=(403, 404)),
    Route("PATCH", "/spaces/{guid}/members/{identity}", set_role,
          "Change a member's role (admins)", "Spaces", body=RoleIn, response=MemberOut,
          scope=_WRITE, errors=(403, 404, 409, 422)),
    Route("DELETE", "/spaces/{guid}/members/{identity}", remove_member,
          "Remove a member (admins; yourself: leave)", "Spaces", status=204, scope=_WRITE,
          errors=(403, 404, 409)),
    Route("POST", "/spaces/{guid}/leave", leave,
          "Leave a space (the last admin cannot)", "Spaces", status=204, scope=_WRITE,
          errors=(403, 404, 409)),
]  # fmt: skip
