from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import requests_mock

from cdhelper import answers, http
from cdhelper import deadline as deadlines
from cdhelper.errors import ApiError, DeadlineError, OutcomeUnknownError

import faults
from faults import FaultServer

URL = "http://127.0.0.1:9/x"
ONCE = http.RetryPolicy(attempts=1)
QUICK = http.Timeouts(connect=1, read=1)


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
    wait = answers.retry_after({"Retry-After": format_datetime(when, usegmt=True)})
    assert wait is not None and 15 <= wait <= 21
    assert answers.retry_after({"Retry-After": "soon"}) is None
    assert answers.retry_after({}) is None


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
        answers.check(response, "Swarmpit", {401: "set the token"})
    assert str(info.value) == (
        "Swarmpit: GET http://127.0.0.1:9/x answered HTTP 401 Unauthorized: bad token\n"
        "  hint: set the token"
    )
    assert info.value.status == 401


def test_check_passes_2xx(requests_mock: requests_mock.Mocker) -> None:
    requests_mock.get(URL, status_code=202, text="<html>\nbusy</html>")
    answers.check(http.new_session().get(URL), "peer")
    requests_mock.get(URL, status_code=500, text="<html>\nbroken</html>")
    with pytest.raises(ApiError, match="HTTP 500: <html> broken</html>"):
        answers.check(http.new_session().get(URL), "peer")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host:1/p?q=1", "http://***@host:1/p?q=1"),
        ("https://host/p", "https://host/p"),
        ("http://[::1]:5000/v2/", "http://[::1]:5000/v2/"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert answers.redact_url(url) == shown


# Against the fault-injection server: real sockets, hostile answers. ---------------------


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


def test_an_error_body_is_read_up_to_its_cap(server: FaultServer) -> None:
    server.on("GET", "/e", faults.huge(500, 10 * 1024 * 1024))
    response = http.request(http.new_session(), "GET", f"{server.url}/e", what="peer", retry=ONCE)
    assert len(response.content) == answers.MAX_ERROR_BODY
    with pytest.raises(ApiError, match=r"answered HTTP 500 Internal Server Error: x{20}"):
        answers.check(response, "peer")


def test_a_success_body_beyond_the_cap_is_refused(server: FaultServer) -> None:
    server.on("GET", "/big", faults.huge(200, 3 * 1024 * 1024))
    url = f"{server.url}/big"
    with pytest.raises(ApiError, match=r"peer: GET .*/big: answered more than 2 MiB: refused$"):
        http.request(http.new_session(), "GET", url, what="peer", max_body=2 * 1024 * 1024)
    assert len(server.seen()) == 1  # not worth another try


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"[" * 100_000 + b"]" * 100_000, ": [[[["),
        (b'{"error": NaN}', ': {"error": NaN}'),
        (b'{"message": "a\\u001b[2Jb\\ud800c"}', ": a [2Jb c"),
        (b'{"detail": ' + b"[" * 5000 + b"]" * 5000 + b"}", ': {"detail": [[[['),
        (b"\xff\xfe\x00", ": \ufffd\ufffd"),
    ],
    ids=["deep", "nan", "escapes-and-surrogate", "deep-detail", "not-utf8"],
)
def test_check_shows_a_safe_snippet_of_any_body(
    server: FaultServer, body: bytes, shown: str
) -> None:
    server.on("GET", "/e", faults.reply(500, body))
    response = http.request(http.new_session(), "GET", f"{server.url}/e", what="peer", retry=ONCE)
    with pytest.raises(ApiError) as info:
        answers.check(response, "peer")
    assert str(info.value).startswith(f"peer: GET {server.url}/e answered HTTP 500")
    assert shown in str(info.value)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b"NaN", b'{"a": Infinity}', b"\xff", b""]
)
def test_json_body_raises_only_value_error(server: FaultServer, body: bytes) -> None:
    server.on("GET", "/j", faults.reply(200, body))
    response = http.request(http.new_session(), "GET", f"{server.url}/j", what="peer")
    with pytest.raises(ValueError):
        answers.json_body(response)


@pytest.mark.parametrize(
    "behaviour",
    [faults.reset_before_answer(), faults.reset_mid_answer(200), faults.hang(3)],
    ids=["reset-before", "reset-mid", "hang"],
)
def test_a_post_that_may_have_acted_is_an_unknown_outcome(
    server: FaultServer, behaviour: faults.Behaviour
) -> None:
    server.on("POST", "/act", behaviour)
    with pytest.raises(OutcomeUnknownError, match="; the request may have reached peer$"):
        http.request(http.new_session(), "POST", f"{server.url}/act", what="peer", timeouts=QUICK)
    assert len(server.seen("POST")) == 1


def test_a_post_that_never_left_is_a_plain_failure() -> None:
    with pytest.raises(ApiError) as info:
        http.request(http.new_session(), "POST", URL, what="peer")
    assert not isinstance(info.value, OutcomeUnknownError)


def test_a_get_broken_off_is_retried(server: FaultServer, no_sleep: list[float]) -> None:
    server.queue("GET", "/r", faults.reset_mid_answer(200), faults.reset_before_answer())
    server.on("GET", "/r", faults.reply(200, {"ok": True}))
    response = http.request(http.new_session(), "GET", f"{server.url}/r", what="peer")
    assert answers.json_body(response) == {"ok": True}
    assert len(server.seen()) == 3


def test_a_trickle_ends_at_the_deadline(server: FaultServer) -> None:
    server.on("GET", "/t", faults.trickle(0.05, seconds=10))
    with (
        deadlines.limit(1),
        pytest.raises(DeadlineError, match=r"1 s \(--timeout\) ran out reading the answer"),
    ):
        http.request(http.new_session(), "GET", f"{server.url}/t", what="peer")
    assert deadlines.current() is None  # restored after the block


def test_a_retry_after_beyond_the_deadline_fails_at_once(
    server: FaultServer, no_sleep: list[float]
) -> None:
    server.on("GET", "/slow", faults.retry_after(100000))
    with deadlines.limit(60), pytest.raises(DeadlineError, match="asks to retry after 100000 s"):
        http.request(http.new_session(), "GET", f"{server.url}/slow", what="peer")
    assert no_sleep == []
    assert len(server.seen()) == 1


def test_no_backoff_past_the_deadline(server: FaultServer, no_sleep: list[float]) -> None:
    server.on("GET", "/down", faults.reply(503))
    with deadlines.limit(1.2), pytest.raises(DeadlineError, match="no time left to retry"):
        http.request(
            http.new_session(),
            "GET",
            f"{server.url}/down",
            what="peer",
            retry=http.RetryPolicy(attempts=4, backoff=2.0),
        )
    assert no_sleep == []


def test_nothing_is_sent_after_the_deadline(server: FaultServer) -> None:
    with deadlines.limit(1) as limit:
        assert limit is not None
        object.__setattr__(limit, "at", limit.at - 2)  # as if 2 s had passed
        with pytest.raises(DeadlineError, match="time limit of 1 s"):
            http.request(http.new_session(), "GET", f"{server.url}/x", what="peer")
    assert server.seen() == []


def test_timeouts_never_outlast_the_deadline() -> None:
    assert http.Timeouts(5, 30).as_tuple(2.5) == (2.5, 2.5)
    assert http.Timeouts(5, 30).as_tuple(None) == (5, 30)


def test_a_redirect_body_is_read_capped_and_the_redirect_followed(server: FaultServer) -> None:
    def endless_redirect(handler: faults.Handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"{server.url}/there")
        handler.send_header("Content-Length", str(10**12))
        handler.end_headers()
        with contextlib.suppress(OSError):
            while True:
                handler.wfile.write(b"x" * 65536)

    server.on("GET", "/here", endless_redirect)
    server.on("GET", "/there", faults.reply(200, {"ok": True}))
    response = http.request(http.new_session(), "GET", f"{server.url}/here", what="peer")
    assert answers.json_body(response) == {"ok": True}
    assert [seen.path for seen in server.seen()] == ["/here", "/there"]


def test_a_redirect_to_another_host_carries_no_credentials(server: FaultServer) -> None:
    with FaultServer("127.0.0.2") as other:
        other.on("GET", "/echo", faults.echo_headers())
        server.on("GET", "/go", faults.redirect(f"{other.url}/echo"))
        session = http.new_session()
        session.headers["Authorization"] = "Bearer s3cret"
        response = http.request(session, "GET", f"{server.url}/go", what="peer")
    echoed = answers.json_body(response)["headers"]
    assert "Authorization" not in echoed and echoed["User-Agent"].startswith("cdhelper/")
    assert server.seen()[0].headers["Authorization"] == "Bearer s3cret"


def test_a_session_carries_its_commands_deadline_into_worker_threads(
    server: FaultServer,
) -> None:
    server.on("GET", "/t", faults.trickle(0.05, seconds=10))
    with deadlines.limit(1):
        session = http.new_session()
    with ThreadPoolExecutor(1) as pool:  # a fresh context: only the session knows the limit
        future = pool.submit(http.request, session, "GET", f"{server.url}/t", what="peer")
        with pytest.raises(DeadlineError, match="ran out reading the answer"):
            future.result(timeout=20)


def test_concurrent_commands_keep_their_own_deadlines() -> None:
    seen: dict[str, float | None] = {}

    def command(name: str, seconds: float) -> None:
        with deadlines.limit(seconds):
            threading.Event().wait(0.1)  # let the other command set its own
            limit = deadlines.current()
            seen[name] = limit.limit if limit else None

    threads = [threading.Thread(target=command, args=(n, s)) for n, s in (("a", 5), ("b", 7))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": 5, "b": 7}
    assert deadlines.current() is None
