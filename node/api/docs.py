"""GET /api/v1/openapi.json (the generated document) and GET /api/docs (a page that reads it)."""

from __future__ import annotations

import hashlib
import json

from aiohttp import web

from node.api import all_routes
from node.api.routing import API_PREFIX
from node.appkeys import CONFIG
from node.openapi import build_openapi
from node.version import VERSION

OPENAPI_PATH = API_PREFIX + "/openapi.json"
DOCS_PATH = "/api/docs"

# Nothing may leave the page: inline script and style only, fetches to this origin only.
_DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def setup(app: web.Application) -> None:
    """Register the document and the reference page; call after the API routes are installed.

    The route table is static, so the document is built (and serialised) once, here.
    """
    doc = build_openapi(
        all_routes(),
        title="Hearth API",
        version=VERSION,
        server_url=app[CONFIG].server.public_url,
    )
    body = json.dumps(doc, indent=1, sort_keys=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    async def openapi_json(request: web.Request) -> web.Response:
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body,
            content_type="application/json",
            headers={"ETag": etag, "Cache-Control": "no-cache"},
        )

    async def docs_page(request: web.Request) -> web.Response:
        return web.Response(
            text=DOCS_HTML,
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": _DOCS_CSP, "X-Content-Type-Options": "nosniff"},
        )

    # Like every API path, the document also answers without the `.json` suffix.
    app.router.add_get(OPENAPI_PATH, openapi_json)
    app.router.add_get(API_PREFIX + "/openapi", openapi_json)
    app.router.add_get(DOCS_PATH, docs_page)


# The reference page. Relative URL (`v1/openapi.json` from /api/docs) and no external assets,
# so it works offline and behind any host name.
DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearth API reference</title>
<style>
  :root { --fg:#1d1d1f; --muted:#666; --line:#ddd; --bg:#fafafa; --code:#f1f1f4; }
  body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
         margin: 0 auto; max-width: 62rem; padding: 1rem 1.5rem 4rem; }
  h1 { margin-bottom: .2rem; } .muted { color: var(--muted); }
  nav a { margin-right: .8rem; }
  h2 { border-bottom: 2px solid var(--line); padding-bottom: .2rem; margin-top: 2.5rem; }
  details.op { background: #fff; border: 1px solid var(--line); border-radius: 6px;
               margin: .5rem 0; }
  details.op > summary { cursor: pointer; padding: .5rem .7rem; list-style: none; }
  details.op > summary::-webkit-details-marker { display: none; }
  details.op[open] > summary { border-bottom: 1px solid var(--line); }
  .body { padding: .3rem 1rem 1rem; }
  .method { display: inline-block; min-width: 4.2rem; text-align: center; font-weight: 700;
            font-family: ui-monospace, monospace; border-radius: 4px; padding: 0 .3rem;
            color: #fff; margin-right: .5rem; }
  .get { background:#2f6fb3; } .post { background:#2e8b57; } .put { background:#a86b00; }
  .patch { background:#8a5cb8; } .delete { background:#b8322f; }
  .path { font-family: ui-monospace, monospace; font-weight: 600; }
  .badge { font-size: .78rem; border: 1px solid var(--line); border-radius: 10px;
           padding: 0 .45rem; margin-left: .35rem; color: var(--muted); }
  .badge.auth { border-color:#c9a227; color:#8a6d00; }
  code, .type { font-family: ui-monospace, monospace; background: var(--code);
                border-radius: 3px; padding: 0 .25rem; font-size: .88rem; }
  table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  ul.schema { list-style: none; margin: .2rem 0; padding-left: 1.1rem;
              border-left: 2px solid var(--line); }
  ul.schema li { margin: .15rem 0; }
  .prop { font-family: ui-monospace, monospace; font-weight: 600; }
  .req { color: #b8322f; font-size: .8rem; margin-left: .3rem; }
  .constraint { color: var(--muted); font-size: .85rem; margin-left: .3rem; }
  h4 { margin: .9rem 0 .2rem; }
  #error { color: #b8322f; }
</style>
</head>
<body>
<h1 id="title">Hearth API reference</h1>
<p class="muted" id="subtitle">Generated from
  <a href="v1/openapi.json">/api/v1/openapi.json</a>.</p>
<noscript><p>This page needs JavaScript to render; the raw document is at
  <a href="v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
<p id="error" hidden></p>
<nav id="nav"></nav>
<main id="main"><p class="muted">Loading…</p></main>
<script>
"use strict";
(function () {
  var SPEC_URL = "v1/openapi.json";
  var spec = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c == null) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function refName(ref) { return ref.split("/").pop(); }

  function resolve(ref) {
    var parts = ref.replace(/^#\\//, "").split("/");
    var node = spec;
    for (var i = 0; i < parts.length; i++) {
      node = node && node[parts[i].replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return node || {};
  }

  // A one-line type label, e.g. "string | null", "array of IdentityOut".
  function typeLabel(s) {
    if (!s) return "any";
    if (s.$ref) return refName(s.$ref);
    if (s.allOf && s.allOf.length === 1) return typeLabel(s.allOf[0]);
    var alts = s.anyOf || s.oneOf;
    if (alts) return alts.map(typeLabel).join(" | ");
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(" | ");
    if (s.const !== undefined) return JSON.stringify(s.const);
    var t = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
    if (t === "array") return "array of " + typeLabel(s.items);
    if (t === "object" && s.additionalProperties && typeof s.additionalProperties === "object"
        && !s.properties) return "map of " + typeLabel(s.additionalProperties);
    return t || "any";
  }

  function constraints(s) {
    var out = [];
    var all = [s].concat(s.anyOf || s.oneOf || []);
    all.forEach(function (x) {
      if (x.maxLength !== undefined) out.push("max length " + x.maxLength);
      if (x.minLength !== undefined) out.push("min length " + x.minLength);
      if (x.maxItems !== undefined) out.push("max items " + x.maxItems);
      if (x.minimum !== undefined) out.push("≥ " + x.minimum);
      if (x.maximum !== undefined) out.push("≤ " + x.maximum);
      if (x.format) out.push(x.format);
    });
    if (s["default"] !== undefined) out.push("default " + JSON.stringify(s["default"]));
    return out.join(", ");
  }

  // The object schema behind s, following $ref / single allOf / array items / nullable.
  function objectBehind(s, seen) {
    if (!s) return null;
    if (s.$ref) {
      if (seen.indexOf(s.$ref) >= 0) return null;  // recursive model: stop
      seen.push(s.$ref);
      return objectBehind(resolve(s.$ref), seen);
    }
    if (s.allOf && s.allOf.length === 1) return objectBehind(s.allOf[0], seen);
    var alts = s.anyOf || s.oneOf;
    if (alts) {
      var nonNull = alts.filter(function (a) { return a.type !== "null"; });
      return nonNull.length === 1 ? objectBehind(nonNull[0], seen) : null;
    }
    if (s.type === "array") return objectBehind(s.items, seen);
    if (s.properties) return s;
    return null;
  }

  // `seen` holds the $refs on the way down, so recursive models stop instead of looping.
  function schemaTree(s, seen) {
    var path = seen.slice();
    var obj = objectBehind(s, path);
    if (!obj || !obj.properties) return null;
    var required = obj.required || [];
    var ul = el("ul", {cls: "schema"});
    Object.keys(obj.properties).forEach(function (name) {
      var p = obj.properties[name];
      var li = el("li", {}, [
        el("span", {cls: "prop", text: name}), " ",
        el("span", {cls: "type", text: typeLabel(p)}),
        required.indexOf(name) >= 0 ? el("span", {cls: "req", text: "required"}) : null,
        constraints(p) ? el("span", {cls: "constraint", text: constraints(p)}) : null,
        p.description ? el("div", {cls: "muted", text: p.description}) : null
      ]);
      var child = schemaTree(p, path);
      if (child) li.appendChild(child);
      ul.appendChild(li);
    });
    if (obj.additionalProperties === false) {
      ul.appendChild(el("li", {cls: "muted", text: "(no other keys allowed)"}));
    }
    return ul;
  }

  function schemaBlock(s) {
    return el("div", {}, [el("span", {cls: "type", text: typeLabel(s)}), schemaTree(s, [])]);
  }

  function parametersTable(params) {
    var rows = params.map(function (p) {
      return el("tr", {}, [
        el("td", {}, [el("code", {text: p.name})]),
        el("td", {text: p["in"]}),
        el("td", {}, [el("span", {cls: "type", text: typeLabel(p.schema)})]),
        el("td", {text: p.required ? "yes" : "no"}),
        el("td", {text: [p.description || "", p.schema ? constraints(p.schema) : ""]
                          .filter(Boolean).join(" — ")})
      ]);
    });
    return el("table", {}, [
      el("tr", {}, ["Name", "In", "Type", "Required", "Notes"].map(function (h) {
        return el("th", {text: h});
      }))
    ].concat(rows));
  }

  function responsesList(responses) {
    var ul = el("ul", {cls: "schema"});
    Object.keys(responses).forEach(function (code) {
      var r = responses[code];
      var content = r.content && r.content["application/json"];
      var li = el("li", {}, [
        el("strong", {text: code}), " ", r.description || "",
        content ? el("span", {}, [" → ", schemaBlock(content.schema)]) : null,
        r.headers ? el("div", {cls: "muted", text: "Headers: " + Object.keys(r.headers)
                                                     .join(", ")}) : null
      ]);
      ul.appendChild(li);
    });
    return ul;
  }

  function operation(path, method, op) {
    var badges = [];
    if (op.security && op.security.length) {
      badges.push(el("span", {cls: "badge auth", text: "bearer"}));
      if (op["x-scope"]) badges.push(el("span", {cls: "badge auth", text: "scope: " +
                                                                          op["x-scope"]}));
      if (op["x-first-party"]) badges.push(el("span", {cls: "badge auth",
                                                       text: "first-party"}));
    } else {
      badges.push(el("span", {cls: "badge", text: "public"}));
    }
    var head = el("summary", {}, [
      el("span", {cls: "method " + method, text: method.toUpperCase()}),
      el("span", {cls: "path", text: path}), " ",
      el("span", {cls: "muted", text: op.summary || ""})
    ].concat(badges));
    var body = el("div", {cls: "body"}, [
      op.description ? el("p", {text: op.description}) : null,
      el("p", {cls: "muted"}, ["operationId ", el("code", {text: op.operationId})])
    ]);
    if (op.parameters && op.parameters.length) {
      body.appendChild(el("h4", {text: "Parameters"}));
      body.appendChild(parametersTable(op.parameters));
    }
    if (op.requestBody) {
      var c = op.requestBody.content["application/json"];
      body.appendChild(el("h4", {text: "Request body (application/json" +
                                       (op.requestBody.required ? ")" : ", optional)")}));
      body.appendChild(schemaBlock(c && c.schema));
    }
    body.appendChild(el("h4", {text: "Responses"}));
    body.appendChild(responsesList(op.responses || {}));
    var id = "op-" + op.operationId;
    return el("details", {cls: "op", id: id}, [head, body]);
  }

  function render() {
    var main = document.getElementById("main");
    var nav = document.getElementById("nav");
    main.textContent = "";
    document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
    var byTag = {};
    var order = (spec.tags || []).map(function (t) { return t.name; });
    var methods = ["get", "post", "put", "patch", "delete"];
    Object.keys(spec.paths).forEach(function (path) {
      methods.forEach(function (m) {
        var op = spec.paths[path][m];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "Other";
        if (order.indexOf(tag) < 0) order.push(tag);
        (byTag[tag] = byTag[tag] || []).push(operation(path, m, op));
      });
    });
    order.forEach(function (tag) {
      if (!byTag[tag]) return;
      var anchor = "tag-" + tag.replace(/[^A-Za-z0-9]+/g, "-");
      nav.appendChild(el("a", {href: "#" + anchor, text: tag}));
      main.appendChild(el("h2", {id: anchor, text: tag}));
      byTag[tag].forEach(function (node) { main.appendChild(node); });
    });
    if (location.hash) {
      var target = document.getElementById(location.hash.slice(1));
      if (target && target.tagName === "DETAILS") target.open = true;
    }
  }

  fetch(SPEC_URL, {headers: {Accept: "application/json"}})
    .then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(function (doc) { spec = doc; render(); })
    .catch(function (err) {
      var box = document.getElementById("error");
      box.hidden = false;
      box.textContent = "Could not load " + SPEC_URL + ": " + err.message;
      document.getElementById("main").textContent = "";
    });
})();
</script>
</body>
</html>
"""
