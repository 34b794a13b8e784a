"""Sphinx fixes for the specgen book (jupyter-book 1.0.4.post1 on Sphinx 7.4).

Sphinx 7.4 adds every inline ``<script>`` that an extension registered after the builder
started twice (``HTMLBuilder.prepare_writing`` re-adds ``registry.js_files`` as
``filename or ''``, which no longer equals the ``None`` already there). sphinx-thebe's
``const THEBE_JS_URL = ...`` then throws "Identifier 'THEBE_JS_URL' has already been
declared" on every page. This keeps the first of each identical script.
"""

from __future__ import annotations


def _script_key(js) -> tuple:
    attrs = getattr(js, "attributes", {}) or {}
    return (
        getattr(js, "filename", js) or "",
        getattr(js, "priority", None),
        tuple(sorted((k, str(v)) for k, v in attrs.items())),
    )


def dedup_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for js in scripts:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", dedup_scripts, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
