from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import requests_mock

from cdhelper import http
from cdhelper.errors import ApiError

URL = "http://127.0.0.1:9/x"


def test_get_retries_5xx_then_succeeds(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get(
        URL, [{"status_code": 503}, {"status_code": 502}, {"status_code": 200, "text": "ok"}]
    )
    response = http.request(http.new_session(), "GET", URL, what="peer")
    assert response.text == "ok"
    assert requests_mock.call_count == 3
    assert no_sleep == [0.5, 1.0]


def test_retry_after_is_honoured_and_capped(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get(
        URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "7"}},
            {"status_code": 429, "headers": {"Retry-After": "9999"}},
            {"status_code": 200},
        ],
    )
    http.request(http.new_session(), "GET", URL, what="peer")
    assert no_sleep == [7.0, 30.0]


def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=20)
    wait = http.retry_after({"Retry-After": format_datetime(when, usegmt=True)})
    assert wait is not None and 15 <= wait <= 21
    assert http.retry_after({"Retry-After": "soon"}) is None
    assert http.retry_after({}) is None


def test_post_is_never_retried(requests_mock: requests_mock.Mocker, no_sleep: list[float]) -> None:
    requests_mock.post(URL, status_code=503)
    response = http.request(http.new_session(), "POST", URL, what="peer")
    assert response.status_code == 503
    assert requests_mock.call_count == 1
    assert no_sleep == []


def test_gives_up_after_attempts(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get(URL, status_code=500)
    response = http.request(http.new_session(), "GET", URL, what="peer")
    assert response.status_code == 500
    assert requests_mock.call_count == 4


def test_timeout_becomes_named_error(
    requests_mock: requests_mock.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.get(URL, exc=requests.ConnectTimeout)
    with pytest.raises(
        ApiError,
        match=r"peer: no answer from http://127.0.0.1:9/x within 5 s "
        r"\(GET timed out, after 4 tries\)",
    ):
        http.request(http.new_session(), "GET", URL, what="peer")


def test_connection_refused_on_a_real_closed_port(no_sleep: list[float]) -> None:
    with pytest.raises(
        ApiError, match="peer: cannot reach http://127.0.0.1:9/x: connection refused"
    ):
        http.request(http.new_session(), "POST", URL, what="peer")


def test_every_call_has_a_timeout(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(URL)
    http.request(http.new_session(), "GET", URL, what="peer", timeouts=http.Timeouts(1, 2))
    timeout: object = requests_mock.request_history[-1].timeout
    assert timeout == (1, 2)
    assert requests_mock.request_history[-1].headers["User-Agent"].startswith("cdhelper/")


def test_check_names_status_and_hint(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(URL, status_code=401, reason="Unauthorized", json={"error": "bad token"})
    response = http.new_session().get(URL)
    with pytest.raises(ApiError) as info:
        http.check(response, "Swarmpit", {401: "set the token"})
    assert str(info.value) == (
        "Swarmpit: GET http://127.0.0.1:9/x answered HTTP 401 Unauthorized: bad token\n"
        "  hint: set the token"
    )
    assert info.value.status == 401


def test_check_passes_2xx(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(URL, status_code=202, text="<html>\nbusy</html>")
    http.check(http.new_session().get(URL), "peer")
    requests_mock.get(URL, status_code=500, text="<html>\nbroken</html>")
    with pytest.raises(ApiError, match="HTTP 500: <html> broken</html>"):
        http.check(http.new_session().get(URL), "peer")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host:1/p?q=1", "http://***@host:1/p?q=1"),
        ("https://host/p", "https://host/p"),
        ("http://[::1]:5000/v2/", "http://[::1]:5000/v2/"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert http.redact_url(url) == shown
