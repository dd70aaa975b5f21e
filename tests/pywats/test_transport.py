"""The transport seam: status -> exception mapping, headers, retry_after, httpx exceptions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

import pywats
from pywats._transport import correlation_id, parse_retry_after, server_message_of

from .conftest import Recorder

STATUS_CLASSES = [
    (400, pywats.ValidationError, False),
    (422, pywats.ValidationError, False),
    (401, pywats.AuthenticationError, False),
    (403, pywats.AuthorizationError, False),
    (404, pywats.NotFoundError, False),
    (409, pywats.ConflictError, False),
    (429, pywats.RateLimitedError, True),
    (500, pywats.ServerError, True),
    (502, pywats.ServerError, True),
    (503, pywats.ServerError, True),
    (504, pywats.ServerError, True),
    (405, pywats.UnexpectedStatusError, False),
    (408, pywats.UnexpectedStatusError, True),
    (413, pywats.UnexpectedStatusError, False),
]


@pytest.mark.parametrize(("status", "cls", "retryable"), STATUS_CLASSES)
def test_status_maps_to_exception_class(
    client: pywats.Client, recorder: Recorder, status: int, cls: type, retryable: bool
) -> None:
    recorder.answer(status, {"message": "nope"})
    with pytest.raises(cls) as info:
        client.app.version()
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.retryable is retryable
    assert err.operation == "app.version"
    assert err.server_message == "nope"


def test_every_error_is_a_pywats_error() -> None:
    for _, cls, _ in STATUS_CLASSES:
        assert issubclass(cls, pywats.PyWATSError)
    for cls in (pywats.ConnectError, pywats.RequestTimeout, pywats.ConnectionDropped):
        assert issubclass(cls, pywats.TransportError)


def test_error_message_names_operation_status_and_server_text(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(400, {"message": "report.pn: is required"}, headers={"X-Request-ID": "r-9"})
    with pytest.raises(pywats.ValidationError) as info:
        client.reports.submit({"id": "a", "type": "T"})
    text = str(info.value)
    assert "reports.submit" in text
    assert "400" in text
    assert "report.pn: is required" in text
    assert "r-9" in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"message": "m1"}', "m1"),
        (b'{"Message": "m2"}', "m2"),
        (b'{"error": "m3"}', "m3"),
        (b'{"errors": {"pn": ["required"]}}', '{"pn": ["required"]}'),
        (b'{"detail": "m5"}', "m5"),
        (b'{"title": "m6"}', "m6"),
        (b'"plain json string"', "plain json string"),
        (b"<html>bad gateway</html>", "<html>bad gateway</html>"),
        (b"", None),
        (b'{"other": 1}', '{"other": 1}'),
    ],
)
def test_server_message_is_probed_from_known_keys_or_text(body: bytes, expected: str) -> None:
    assert server_message_of(body) == expected


def test_a_refusals_text_is_kept_whole(client: pywats.Client, recorder: Recorder) -> None:
    lines = [
        f"root -> step Check {i}: Status cannot be different from measurement status."
        for i in range(40)
    ]
    body = "\n".join(lines).encode("utf-8")  # ~3 KB of text/plain, the real server's 400 form
    recorder.answer(400, content=body, headers={"Content-Type": "text/plain; charset=utf-8"})
    with pytest.raises(pywats.ValidationError) as info:
        client.reports.submit({"id": "a", "type": "T"})
    assert info.value.server_message == body.decode("utf-8")


def test_a_refusal_beyond_64_kib_is_cut_with_a_marker(
    client: pywats.Client, recorder: Recorder
) -> None:
    body = b"x" * (64 * 1024 + 10)
    recorder.answer(400, content=body)
    with pytest.raises(pywats.ValidationError) as info:
        client.reports.submit({"id": "a", "type": "T"})
    assert info.value.server_message == "x" * (64 * 1024) + " ... (10 more bytes)"


def test_a_json_refusal_message_is_kept_whole(client: pywats.Client, recorder: Recorder) -> None:
    message = "\n".join(f"line {i} of the server's answer" for i in range(100))
    recorder.answer(422, {"message": message})
    with pytest.raises(pywats.ValidationError) as info:
        client.reports.submit({"id": "a", "type": "T"})
    assert info.value.server_message == message


def test_a_server_errors_body_stays_short(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(503, content=b"<html>" + b"y" * 5000 + b"</html>")
    with pytest.raises(pywats.ServerError) as info:
        client.app.version()
    assert info.value.server_message == "<html>" + "y" * 494 + " ... (4513 more bytes)"


def test_server_message_prefers_message_over_title() -> None:
    assert server_message_of(b'{"title": "Bad Request", "message": "pn missing"}') == "pn missing"


@pytest.mark.parametrize(
    "header", ["X-Correlation-ID", "Correlation-Id", "X-Request-ID", "Request-Id", "traceparent"]
)
def test_correlation_id_is_read_from_response_headers(
    client: pywats.Client, recorder: Recorder, header: str
) -> None:
    recorder.answer(500, {"message": "boom"}, headers={header: "corr-1"})
    with pytest.raises(pywats.ServerError) as info:
        client.app.version()
    assert info.value.correlation_id == "corr-1"


def test_correlation_id_prefers_the_specific_header() -> None:
    headers = {"traceparent": "00-abc-01", "X-Correlation-ID": "c-1"}
    assert correlation_id(headers) == "c-1"


def test_correlation_id_is_none_without_headers(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(500, {"message": "boom"})
    with pytest.raises(pywats.ServerError) as info:
        client.app.version()
    assert info.value.correlation_id is None


def test_rate_limited_carries_retry_after_seconds(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(429, {"message": "slow down"}, headers={"Retry-After": "7"})
    with pytest.raises(pywats.RateLimitedError) as info:
        client.app.version()
    assert info.value.retry_after == 7.0
    assert info.value.retryable


def test_rate_limited_without_retry_after_has_none(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(429, {"message": "slow down"})
    with pytest.raises(pywats.RateLimitedError) as info:
        client.app.version()
    assert info.value.retry_after is None


def test_retry_after_fractional_seconds_are_kept() -> None:
    assert parse_retry_after("0.25") == 0.25


def test_retry_after_http_date_is_measured_from_the_date_header() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = now + timedelta(seconds=120)
    assert (
        parse_retry_after(format_datetime(later, usegmt=True), format_datetime(now, usegmt=True))
        == 120.0
    )


def test_retry_after_http_date_without_date_header_uses_our_clock() -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=3600)
    value = parse_retry_after(format_datetime(later, usegmt=True))
    assert value is not None
    assert 3000 < value <= 3600


def test_retry_after_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("value", ["soon", "", "-", "nan", "inf"])
def test_retry_after_unreadable_is_none(value: str) -> None:
    assert parse_retry_after(value) is None


def test_negative_retry_after_is_zero() -> None:
    assert parse_retry_after("-5") == 0.0


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


TRANSPORT_CASES = [
    (httpx.ConnectError("refused"), pywats.ConnectError, False),
    (httpx.ConnectTimeout("slow connect"), pywats.RequestTimeout, False),
    (httpx.PoolTimeout("no free connection"), pywats.RequestTimeout, False),
    (httpx.ReadTimeout("slow answer"), pywats.RequestTimeout, True),
    (httpx.WriteTimeout("slow send"), pywats.RequestTimeout, True),
    (httpx.RemoteProtocolError("server hung up"), pywats.ConnectionDropped, True),
    (httpx.ReadError("reset by peer"), pywats.ConnectionDropped, True),
    (httpx.WriteError("broken pipe"), pywats.ConnectionDropped, True),
    (httpx.UnsupportedProtocol("ftp"), pywats.TransportError, False),
    (httpx.NetworkError("other"), pywats.TransportError, True),
]


@pytest.mark.parametrize(("raised", "cls", "reached"), TRANSPORT_CASES)
def test_httpx_exceptions_map_to_transport_errors(
    raised: Exception, cls: type, reached: bool
) -> None:
    with pywats.Client("http://127.0.0.1:9", "t", transport=_raising(raised)) as client:
        with pytest.raises(cls) as info:
            client.reports.submit({"id": "k", "type": "T"})
    err = info.value
    assert type(err) is cls
    assert err.may_have_reached_server is reached
    assert err.retryable
    assert err.status_code is None
    assert err.__cause__ is raised


def test_non_json_success_body_is_invalid_response(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, content=b"<html>proxy login</html>")
    with pytest.raises(pywats.InvalidResponseError) as info:
        client.app.version()
    assert not info.value.retryable
    assert "not JSON" in str(info.value)


def test_empty_success_body_is_invalid_response_in_strict_mode(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, content=b"")
    with pytest.raises(pywats.InvalidResponseError):
        client.app.processes()


def test_requests_carry_basic_auth_accept_and_user_agent(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"version": "1"})
    client.app.version()
    headers = recorder.last.headers
    assert headers["Authorization"] == "Basic tok"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"pywats/{pywats.__version__}"


def test_custom_user_agent_is_sent(recorder: Recorder) -> None:
    recorder.answer(200, {"version": "1"})
    transport = httpx.MockTransport(recorder)
    with pywats.Client("http://127.0.0.1:9", "t", transport=transport, user_agent="st/2") as c:
        c.app.version()
    assert recorder.last.headers["User-Agent"] == "st/2"


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/api",
        "http://127.0.0.1:9/api/",
        "http://127.0.0.1:9/API",
    ],
)
def test_trailing_slash_and_api_are_stripped(recorder: Recorder, base: str) -> None:
    recorder.answer(200, {"version": "1"})
    with pywats.Client(base, "t", transport=httpx.MockTransport(recorder)) as c:
        c.app.version()
    assert str(recorder.last.url) == "http://127.0.0.1:9/api/App/Version"


def test_base_url_path_prefix_is_kept(recorder: Recorder) -> None:
    recorder.answer(200, {"version": "1"})
    with pywats.Client(
        "http://127.0.0.1:9/tenant/api", "t", transport=httpx.MockTransport(recorder)
    ) as c:
        c.app.version()
    assert str(recorder.last.url) == "http://127.0.0.1:9/tenant/api/App/Version"


def test_repeated_requests_keep_the_prefix_and_their_own_query(recorder: Recorder) -> None:
    recorder.answer(200, [])
    with pywats.Client(
        "http://127.0.0.1:9/tenant/api", "t", transport=httpx.MockTransport(recorder)
    ) as c:
        list(c.products.list(top=1))
        list(c.products.list(top=2))
    urls = [str(r.url) for r in recorder.requests]
    assert urls[0].startswith("http://127.0.0.1:9/tenant/api/Product/Query?")
    assert urls[0] != urls[1] and urls[1].startswith("http://127.0.0.1:9/tenant/api/Product/")
    assert "top=2" in urls[1].replace("%24", "$").replace("$top", "top")


@pytest.mark.parametrize("base", ["127.0.0.1:9", "ftp://x", ""])
def test_base_url_without_http_scheme_is_rejected(base: str) -> None:
    with pytest.raises(ValueError, match="http"):
        pywats.Client(base, "t")


@pytest.mark.parametrize(
    "base",
    ["https://bob:s3cret@127.0.0.1:9", "http://s3cret@127.0.0.1:9/api", " https://:s3cret@x"],
)
def test_base_url_with_credentials_is_rejected_without_echoing_them(base: str) -> None:
    # httpx would send them as Basic auth in place of the token, and errors print the URL.
    with pytest.raises(ValueError, match="user name or key") as info:
        pywats.Client(base, "t")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("token", ["", "a\nb"])
def test_bad_token_is_rejected(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        pywats.Client("http://127.0.0.1:9", token)


def test_timeout_defaults_are_documented_values() -> None:
    assert pywats.Timeout() == pywats.Timeout(connect=5, read=30, write=30, pool=5)


def test_timeout_is_handed_to_httpx(recorder: Recorder) -> None:
    recorder.answer(200, {"version": "1"})
    timeout = pywats.Timeout(connect=1, read=2, write=3, pool=4)
    with pywats.Client(
        "http://127.0.0.1:9", "t", timeout=timeout, transport=httpx.MockTransport(recorder)
    ) as c:
        c.app.version()
    assert recorder.last.extensions["timeout"] == {
        "connect": 1,
        "read": 2,
        "write": 3,
        "pool": 4,
    }


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_timeout_rejects_non_positive_or_infinite(bad: float) -> None:
    with pytest.raises(ValueError, match=r"Timeout\.read"):
        pywats.Timeout(read=bad)


def test_make_token_is_base64_of_user_colon_key() -> None:
    assert pywats.make_token("alice", "s3cret") == "YWxpY2U6czNjcmV0"


def test_make_token_rejects_colon_in_user() -> None:
    with pytest.raises(ValueError, match="':'"):
        pywats.make_token("a:b", "k")


def test_errors_survive_pickling() -> None:
    import pickle

    err = pywats.RateLimitedError(
        "HTTP 429", operation="reports.submit", server_message="m", retry_after=2.0
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is pywats.RateLimitedError
    assert (copy.operation, copy.retry_after, copy.retryable) == ("reports.submit", 2.0, True)
    assert str(copy) == str(err)


def test_closed_client_context_manager_closes(recorder: Recorder) -> None:
    client = pywats.Client("http://127.0.0.1:9", "t", transport=httpx.MockTransport(recorder))
    with client:
        pass
    with pytest.raises(RuntimeError):
        client.app.version()
