"""The station page: routes, rendering and the operator actions.

GET pages (overview, reports, one report, configuration) are server-rendered from Jinja2
templates with autoescaping, so every value from a report or a server message is escaped; the
``/live/...`` routes render the same fragments for the page's script to swap in. POST actions
(requeue, requeue all failed, probe, dismiss, supersede) pass the CSRF and origin checks, act
through the engine's facade (recorded in the journal with origin "station page") and redirect
back with a message, so everything works with JavaScript off.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from importlib import resources
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape

from .._health_http import Request, Response, text
from . import _pages
from ._chart import chart
from ._forms import Form, parse_form
from ._sampler import Sampler
from ._security import HEADERS, Guard

if TYPE_CHECKING:
    from journal import Journal, ReportFilter

    from .._config import EngineConfig
    from .._engine import SyncEngine

log = logging.getLogger("syncengine.ui")

ORIGIN = "station page"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_STATES = ("pending", "in_flight", "acked", "failed", "superseded", "dismissed")
_FLASH = {
    "requeued": ("ok", "Report {k} will be sent again now."),
    "requeued_all": ("ok", "{n} failed report(s) will be sent again now."),
    "probed": ("ok", "Checked the server: the connection is {k}."),
    "dismissed": ("ok", "Report {k} was dismissed. It stays in the journal and is never sent."),
    "superseded": ("ok", "The corrected report {k} was saved and will be sent."),
    "error": ("error", "{k}"),
}


class StationPage:
    """The station page of one running engine (mounted on its loopback server)."""

    def __init__(self, engine: SyncEngine, config: EngineConfig) -> None:
        self._engine = engine
        self._config = config
        ui = config.ui
        self._guard = Guard(ui.token.get_secret_value() if ui.token is not None else None)
        secrets_ = [config.token.get_secret_value()]
        if ui.token is not None:
            secrets_.append(ui.token.get_secret_value())
        self._hidden = _hidden_forms(secrets_)
        self._sampler = Sampler(engine.status, ui.sample_s, join_s=config.timeouts.stop_join_s)
        self._reader: Journal | None = None
        self._reader_lock = threading.Lock()
        self._env = Environment(
            loader=PackageLoader("syncengine.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.globals["state_labels"] = _pages.STATE_LABELS
        self.address: tuple[str, int] | None = None
        # Messages after an action live here, named by a random id in the redirect: a link
        # from elsewhere cannot make the page say something it did not say.
        self._flashes = _Flashes()

    # -- lifecycle (the server calls these) --------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Learn the bound address (for the URL shown in logs and the demo)."""
        self.address = address
        log.info("station page at %s", self.url)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/`` (or the configured loopback host)."""
        if self.address is None:
            return ""
        host, port = self.address
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    def start(self) -> None:
        """Start sampling for the chart."""
        self._sampler.start()

    def stop(self) -> None:
        """Stop sampling and close the page's read connection."""
        self._sampler.stop()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    @staticmethod
    def security_headers() -> tuple[tuple[str, str], ...]:
        """Headers sent with every answer of the server the page is mounted on."""
        return HEADERS

    def _journal(self) -> Journal:
        # Lists and history are read on a connection of the page's own, so a long filter
        # never waits for (or holds up) the engine's writes.
        with self._reader_lock:
            if self._reader is None:
                from journal import Journal

                self._reader = Journal(self._config.journal_path, check_on_open=False)
            return self._reader

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request that is not a probe."""
        path = request.path
        if request.method == "GET" and path.startswith("/static/"):
            return self._static(path[len("/static/") :])
        form = parse_form(request) if request.method == "POST" else Form()
        if request.method == "POST":
            refusal = self._guard.post_refusal(request, form.fields)
            if refusal is not None:
                log.warning("station page refused a POST to %s: %s", path, refusal)
                return self._error(403, "Refused", f"Nothing was done: {refusal}.")
        if path == "/login":
            return self._login(request, form)
        if not self._guard.signed_in(request):
            if request.method == "GET" and not path.startswith("/live/"):
                return _redirect("/login")
            return self._error(403, "Sign in first", "This page needs the station password.")
        if request.method == "POST":
            return self._post(path, form)
        if request.method != "GET":
            return text(405, "method not allowed\n")
        route = {
            "/": self._overview,
            "/live/overview": self._live_overview,
            "/reports": self._reports,
            "/live/reports": self._live_reports,
            "/report": self._report,
            "/live/report": self._live_report,
            "/config": self._config_page,
        }.get(path)
        if route is None:
            return self._error(404, "Not found", "There is no such page.")
        return route(request)

    # -- rendering -----------------------------------------------------------------------------

    def _render(self, name: str, request: Request | None = None, **context: Any) -> Response:
        flash = self._flashes.get(request.arg("flash")) if request is not None else None
        html = self._env.get_template(name).render(
            csrf=self._guard.csrf,
            station=self._config.station_name,
            refresh_ms=int(self._config.ui.refresh_s * 1000),
            refresh_s=f"{self._config.ui.refresh_s:g}",
            logout=self._guard.needs_login,
            nav=request is None or self._guard.signed_in(request),
            flash=flash,
            **context,
        )
        # The API token and the page password are never part of any value shown, but a report
        # or a server message could quote them: they are never rendered, whatever the source,
        # in any form the page may write them (as is, HTML-escaped, JSON-then-HTML-escaped).
        for form in self._hidden:
            html = html.replace(form, "&lt;hidden&gt;")
        return Response(200, html.encode("utf-8"), "text/html; charset=utf-8")

    def _error(self, status: int, title: str, message: str) -> Response:
        response = self._render("error.html", title=title, message=message, page="")
        response.status = status
        return response

    def _static(self, name: str) -> Response:
        suffix = PurePath(name).suffix
        if "/" in name or "\\" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
            return text(404, "not found\n")
        try:
            data = resources.files("syncengine.ui").joinpath("static").joinpath(name).read_bytes()
        except (FileNotFoundError, OSError):
            return text(404, "not found\n")
        return Response(200, data, _STATIC_TYPES[suffix])

    # -- pages ---------------------------------------------------------------------------------

    def _overview_context(self) -> dict[str, Any]:
        status = self._engine.status()
        samples = self._sampler.samples()
        # acks_per_minute() averages over 5 minutes, or over what was sampled when younger.
        window_s = 300.0 if len(samples) < 2 else min(300.0, samples[-1].at - samples[0].at)
        facts = _pages.overview(status, self._sampler.acks_per_minute(), max(1.0, window_s))
        facts["chart"] = chart(samples, 1800.0, self._sampler.sample_s)
        return {"o": facts, "engine": _pages.engine_facts(status)}

    def _overview(self, request: Request) -> Response:
        return self._render(
            "overview.html",
            request,
            live=True,
            page="overview",
            title="Overview",
            **self._overview_context(),
        )

    def _live_overview(self, request: Request) -> Response:
        return self._render("_overview_live.html", **self._overview_context())

    def _filter(self, request: Request) -> tuple[ReportFilter, str | None]:
        from journal import ReportFilter

        from ..cli._views import parse_since

        state = request.arg("state")
        error = None
        times: dict[str, float | None] = {"since": None, "until": None}
        for name in times:
            value = request.arg(name).strip()
            if value:
                try:
                    times[name] = parse_since(value, now=time.time())
                except ValueError as exc:
                    error = str(exc)
        before = request.arg("before")
        flt = ReportFilter(
            state=state if state in _STATES else None,
            sn=request.arg("sn").strip() or None,
            pn=request.arg("pn").strip() or None,
            process=request.arg("process").strip() or None,
            source=request.arg("file").strip() or None,
            since=times["since"],
            until=times["until"],
            before=int(before) if before.isdigit() else None,
            limit=50,
        )
        return flt, error

    def _rows(self, request: Request) -> tuple[Any, dict[str, Any]]:
        flt, error = self._filter(request)
        started = time.perf_counter()
        page = self._journal().reports(flt)
        took_ms = round((time.perf_counter() - started) * 1000, 1)
        rows = [_pages.list_row(r) for r in page.rows]
        return page, {"rows": rows, "filter_error": error, "took_ms": took_ms, "f": flt}

    def _reports(self, request: Request) -> Response:
        page, context = self._rows(request)
        keep = {
            k: request.arg(k)
            for k in ("state", "sn", "pn", "process", "file", "since", "until")
            if request.arg(k)
        }
        query = urlencode(keep)
        next_url = None
        if page.next_before is not None:
            next_url = "/reports?" + urlencode({**keep, "before": page.next_before})
        return self._render(
            "reports.html",
            request,
            live=not request.arg("before"),
            page="reports",
            title="Reports",
            states=[(s, _pages.STATE_LABELS[s]) for s in _STATES],
            query=query,
            next_url=next_url,
            first_page=not request.arg("before"),
            since=request.arg("since"),
            until=request.arg("until"),
            **context,
        )

    def _live_reports(self, request: Request) -> Response:
        _page, context = self._rows(request)
        return self._render("_report_rows.html", **context)

    def _report(self, request: Request) -> Response:
        key = request.arg("key")
        journal = self._journal()
        sub = journal.submission(key) if key else None
        if sub is None:
            if key and journal.state(key) == "acked":
                return self._error(
                    404,
                    "Archived report",
                    f"Report {key} was accepted by the server and later moved to an archive "
                    "file ('syncengine journal archive'); 'syncengine journal dump' shows the "
                    "Archived event that names the file.",
                )
            return self._error(
                404, "No such report", f"The journal holds no live report with key {key!r}."
            )
        view = _pages.report(sub, journal.history(key))
        return self._render(
            "report.html", request, page="reports", title=f"Report {key}", r=view, live=True
        )

    def _live_report(self, request: Request) -> Response:
        key = request.arg("key")
        journal = self._journal()
        sub = journal.submission(key) if key else None
        if sub is None:
            return text(404, "no such report\n")
        # Two live parts around the forms: the facts above them, attempts and events below.
        part = "_report_history.html" if request.arg("part") == "history" else "_report_live.html"
        return self._render(part, r=_pages.report(sub, journal.history(key)))

    def _config_page(self, request: Request) -> Response:
        rows = _pages.config_rows(self._config)
        return self._render("config.html", request, page="config", title="Configuration", rows=rows)

    def _login(self, request: Request, form: Form) -> Response:
        if request.method == "GET":
            return self._render("login.html", request, page="", title="Sign in")
        cookie = self._guard.sign_in(form.get("token"))
        if cookie is None:
            return self._error(403, "Wrong password", "The station page password is not right.")
        response = _redirect("/")
        response.headers.append(("Set-Cookie", cookie))
        return response

    # -- actions -------------------------------------------------------------------------------

    def _with(self, path: str, msg: str, key: str, n: int = 0) -> str:
        kind, template = _FLASH[msg]
        ident = self._flashes.add(kind, template.format(k=key, n=n))
        return path + ("&" if "?" in path else "?") + urlencode({"flash": ident})

    def _post(self, path: str, form: Form) -> Response:
        key = form.get("key")
        who = form.get("who") or None
        back = "/report?key=" + quote(key, safe="") if key else "/"
        try:
            if path == "/logout":
                response = _redirect("/login" if self._guard.needs_login else "/")
                response.headers.append(("Set-Cookie", self._guard.sign_out()))
                return response
            if path in ("/action/requeue", "/action/requeue-failed"):
                # As for dismiss: who is required; why is optional for sending "as it is".
                if not who:
                    text = "Say who you are (your name) before sending reports again."
                    return _redirect(self._with(back, "error", text))
                reason = form.get("reason") or "no reason given"
                if path == "/action/requeue":
                    self._engine.requeue(key, reason=reason, who=who, origin=ORIGIN)
                    return _redirect(self._with(back, "requeued", key))
                keys = self._engine.requeue_failed(reason=reason, who=who, origin=ORIGIN)
                return _redirect(self._with("/", "requeued_all", "", n=len(keys)))
            if path == "/action/probe":
                # Not a journal event: a probe changes no report, and the CLI records none.
                state = self._engine.probe_now()
                log.info("probe requested on the station page: the connection is %s", state)
                return _redirect(self._with("/", "probed", state))
            if path == "/action/dismiss":
                reason = form.get("reason")
                if not reason or not who:
                    text = "Say why the report is dismissed, and who you are."
                    return _redirect(self._with(back, "error", text))
                self._engine.dismiss(key, reason=reason, who=who, origin=ORIGIN)
                return _redirect(self._with(back, "dismissed", key))
            if path == "/action/supersede":
                return self._supersede(key, form, who, back)
        except Exception as exc:  # shown to the operator, escaped, token removed by _render
            log.warning("station page action %s on %r failed: %s", path, key, exc)
            return _redirect(self._with(back, "error", f"Nothing was done: {exc}"))
        return self._error(404, "Not found", "There is no such action.")

    def _supersede(self, key: str, form: Form, who: str | None, back: str) -> Response:
        reason = form.get("reason")
        upload = form.files.get("file")
        if not reason or not who or upload is None or not upload[1]:
            text = "Choose the corrected file, say why and who you are."
            return _redirect(self._with(back, "error", text))
        limit = int(self._config.ui.max_upload_mb * 1024 * 1024)
        if len(upload[1]) > limit:
            return _redirect(
                self._with(back, "error", "The file is larger than [ui] max_upload_mb.")
            )
        old = self._engine.submission(key)
        replaces_id = old.payload.get("id") if old is not None else None
        payload = load_corrected(
            upload[1], upload[0], replaces_id=replaces_id if isinstance(replaces_id, str) else None
        )
        new_key = self._engine.supersede(
            key,
            payload,
            reason=reason,
            who=who,
            origin=ORIGIN,
            source={"path": upload[0], "uploaded": True},
        )
        return _redirect(
            self._with("/report?key=" + quote(new_key, safe=""), "superseded", new_key)
        )


def _hidden_forms(secrets_: list[str]) -> list[str]:
    """Every text under which a secret can appear in a rendered page, longest first."""
    forms: set[str] = set()
    for secret in secrets_:
        if len(secret) < 4:  # too short to search for without mangling the page
            continue
        forms.update({secret, str(escape(secret))})
        for ascii_only in (True, False):
            json_text = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
            forms.update({json_text, str(escape(json_text))})
    return sorted(forms, key=len, reverse=True)


CORRECTED_FORMATS = "WSJF JSON, WSXF XML or WATS Standard Text Format"
"""The formats a corrected report may be given in (page upload and ``replay --with``)."""


def load_corrected(data: bytes, name: str, *, replaces_id: str | None = None) -> dict[str, Any]:
    """The one corrected report in an uploaded file, as WSJF; ``ValueError`` saying what is wrong.

    The file may be WSJF JSON, a WSXF XML export or WATS Standard Text Format (told apart by
    their first character or marker, as the converters do), so an operator can correct the
    file the station wrote in its own format. It must hold exactly one report, and that report
    must pass the pywats models, before anything is written. A report without an ``id`` (WATS
    Standard Text Format carries none) takes ``replaces_id``, the id of the report it replaces,
    as the folder watcher gives one to every report.
    """
    from pywats import parse_report
    from syncengine.converters import ConversionError, parse_wats_text, parse_wsxf

    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    try:
        if start.startswith(b"<"):
            reports: list[Any] = parse_wsxf(data, name)
        elif start.startswith(b"--Header-Start--"):
            reports = parse_wats_text(data.decode("utf-8-sig"), name)
        else:
            try:
                payload = json.loads(data.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise ValueError(
                    f"{name} is not a report file ({CORRECTED_FORMATS}): not valid JSON ({exc})"
                ) from None
            if not isinstance(payload, dict):
                raise ValueError(f"{name} does not hold one report (a JSON object)")
            reports = [payload]
    except ConversionError as exc:
        raise ValueError(f"{name} cannot be read: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text ({exc})") from None
    if len(reports) != 1:
        raise ValueError(
            f"{name} holds {len(reports)} reports; a corrected file must hold exactly the one "
            "report it replaces"
        )
    payload = dict(reports[0])
    if not payload.get("id") and replaces_id:
        payload["id"] = replaces_id
    try:
        parse_report(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not a valid report: {exc}") from None
    return payload


class _Flashes:
    """The last few action messages, by random id (bounded)."""

    def __init__(self, keep: int = 200) -> None:
        self._items: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def add(self, kind: str, text: str) -> str:
        ident = secrets.token_urlsafe(9)
        with self._lock:
            self._items[ident] = {"kind": kind, "text": text}
            while len(self._items) > self._keep:
                self._items.popitem(last=False)
        return ident

    def get(self, ident: str) -> dict[str, str] | None:
        with self._lock:
            return self._items.get(ident)


def _redirect(location: str) -> Response:
    return Response(303, b"", headers=[("Location", location)])
