"""The `attesta` command line against a fake registration API (no server): what it sends, what
it prints, how it exits."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import main
from cli.progress import Progress

Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class Sent:
    request: httpx.Request
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApi(httpx.BaseTransport):
    """Answers by (method, path) and keeps every request with its body chunk by chunk, as a
    server receives a streamed upload (httpx.MockTransport would join the chunks first)."""

    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        chunks = [bytes(chunk) for chunk in request.stream]
        request.stream = httpx.ByteStream(b"".join(chunks))
        self.sent.append(Sent(request, chunks))
        answer = self.routes.get((request.method, request.url.path))
        if answer is None:
            return problem(404, f"no route {request.method} {request.url.path}")
        return answer(request)

    @property
    def last(self) -> Sent:
        return self.sent[-1]


def reply(status: int, body: Any = None) -> Answer:
    return lambda _: httpx.Response(status, json=body) if body is not None else httpx.Response(204)


def problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return httpx.Response(
        status, content=json.dumps(body), headers={"content-type": "application/problem+json"}
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's key or URL leaks in; no .data/admin-key unless a test writes one."""
    for name in (
        "ATTESTA_KEY",
        "ATTESTA_ADMIN_KEY",
        "ATTESTA_REGISTRATION_URL",
        "ATTESTA_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATTESTA_KEY", "admin-secret")
    monkeypatch.chdir(tmp_path)


def run(api: FakeApi, *argv: str) -> int:
    return main(list(argv), transport=api)


# partners ------------------------------------------------------------------------------------
def test_partners_create_posts_name_and_email_and_warns_the_key_is_shown_once(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    created = {"id": "p1", "name": "Община Русе", "api_key": "ak_k1_secret", "key_id": "k1"}
    api.on("POST", "/v1/partners", reply(201, created))

    code = run(api, "partners", "create", "Община Русе", "--contact-email", "it@ruse.bg")

    assert code == 0
    request = api.last.request
    assert request.url == "http://127.0.0.1:8001/v1/partners"
    assert request.headers["authorization"] == "Bearer admin-secret"
    assert api.last.json == {"name": "Община Русе", "contact_email": "it@ruse.bg"}
    out, err = capsys.readouterr()
    assert "p1" in out and "ak_k1_secret" in out
    assert "shown only this once" in err


def test_partners_create_without_email_sends_only_the_name(api: FakeApi) -> None:
    api.on(
        "POST", "/v1/partners", reply(201, {"id": "p", "name": "n", "api_key": "a", "key_id": "k"})
    )
    assert run(api, "partners", "create", "Община Варна") == 0
    assert api.last.json == {"name": "Община Варна"}


def test_partners_list_follows_next_cursor_to_the_last_page(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    def partner(n: int, revoked: bool = False) -> dict[str, Any]:
        key = {"key_id": f"k{n}", "created_at": "2025-01-01T00:00:00Z", "revoked_at": None}
        if revoked:
            key["revoked_at"] = "2025-02-01T00:00:00Z"
        return {
            "id": f"p{n}",
            "name": f"Partner {n}",
            "contact_email": None,
            "created_at": "2025-01-01T00:00:00Z",
            "keys": [key],
        }

    pages = {
        None: {"items": [partner(1), partner(2)], "next_cursor": "c2"},
        "c2": {"items": [partner(3, revoked=True)], "next_cursor": "c3"},
        "c3": {"items": [], "next_cursor": None},
    }
    api.on(
        "GET",
        "/v1/partners",
        lambda request: httpx.Response(200, json=pages[request.url.params.get("cursor")]),
    )

    assert run(api, "partners", "list") == 0

    cursors = [s.request.url.params.get("cursor") for s in api.sent]
    assert cursors == [None, "c2", "c3"]
    assert all(s.request.url.params["limit"] == "100" for s in api.sent)
    out = capsys.readouterr().out
    for n in (1, 2, 3):
        assert f"Partner {n}" in out
    assert "k3 (revoked)" in out


def test_json_flag_prints_every_page_as_one_json_list_before_or_after_the_command(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = {
        None: {"items": [{"id": "c1", "code": "A"}], "next_cursor": "x"},
        "x": {"items": [{"id": "c2", "code": "B"}], "next_cursor": None},
    }
    api.on(
        "GET",
        "/v1/courses",
        lambda request: httpx.Response(200, json=pages[request.url.params.get("cursor")]),
    )

    for argv in (["--json", "courses", "list"], ["courses", "list", "--json"]):
        assert run(api, *argv) == 0
        assert json.loads(capsys.readouterr().out) == [
            {"id": "c1", "code": "A"},
            {"id": "c2", "code": "B"},
        ]


def test_rotate_key_posts_to_the_partner_keys(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", "/v1/partners/p1/keys", reply(201, {"key_id": "k2", "api_key": "ak_k2_s"}))
    assert run(api, "partners", "rotate-key", "p1") == 0
    out, err = capsys.readouterr()
    assert "ak_k2_s" in out and "shown only this once" in err


def test_revoke_key_deletes_the_key_and_accepts_204(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("DELETE", "/v1/partners/p1/keys/k1", reply(204))
    assert run(api, "partners", "revoke-key", "p1", "k1") == 0
    assert api.last.request.method == "DELETE"
    assert "Revoked key k1 of partner p1" in capsys.readouterr().out


def test_ids_cannot_escape_their_path_segment(api: FakeApi) -> None:
    run(api, "enrolment", "show", "../partners")
    assert api.last.request.url.raw_path == b"/v1/enrolments/..%2Fpartners"


# errors --------------------------------------------------------------------------------------
def test_problem_json_error_prints_the_detail_and_each_field_and_exits_1(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = tmp_path / "course.json"
    course.write_text(json.dumps({"code": "X", "partner_ids": ["nope"]}))
    api.on(
        "POST",
        "/v1/courses",
        lambda _: problem(
            422,
            "Unknown partner ids: nope.",
            [
                {"field": "partner_ids", "message": "unknown partner nope"},
                {"field": "sessions", "message": "Field required"},
            ],
        ),
    )

    assert run(api, "courses", "create", str(course)) == 1

    assert api.last.json == {"code": "X", "partner_ids": ["nope"]}
    err = capsys.readouterr().err
    assert "Unknown partner ids: nope. (HTTP 422)" in err
    assert "partner_ids: unknown partner nope" in err
    assert "sessions: Field required" in err


def test_a_refused_key_names_where_the_key_came_from(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET", "/v1/courses", lambda _: problem(401, "This API key is not known or was revoked.")
    )
    assert run(api, "courses", "list") == 1
    err = capsys.readouterr().err
    assert "not known or was revoked" in err and "ATTESTA_KEY" in err


def test_a_non_json_error_body_is_shown_with_its_status(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/courses", lambda _: httpx.Response(502, text="Bad Gateway from proxy"))
    assert run(api, "courses", "list") == 1
    assert "HTTP 502" in capsys.readouterr().err


def test_connection_refused_exits_2_and_asks_whether_make_run_is_running(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert main(["--url", f"http://127.0.0.1:{port}", "courses", "list"]) == 2

    err = capsys.readouterr().err
    assert "connection refused" in err and "make run" in err


def test_a_transport_connect_error_is_also_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    assert main(["partners", "list"], transport=httpx.MockTransport(refuse)) == 2
    assert "make run" in capsys.readouterr().err


def test_usage_errors_exit_64_not_2_which_means_unreachable(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(api, "attendance", "c1", "10.09.2002", "refs.txt") == 64
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert run(api, "partners") == 64
    assert api.sent == []


def test_an_unreadable_or_invalid_file_fails_before_any_request(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(api, "courses", "create", str(tmp_path / "missing.json")) == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"code": ')
    assert run(api, "courses", "create", str(broken)) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert api.sent == []


# key and URL resolution ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "key_env", "admin_env", "file", "expected"),
    [
        ("from-flag", "from-key-env", "from-admin-env", "from-file", "from-flag"),
        (None, "from-key-env", "from-admin-env", "from-file", "from-key-env"),
        (None, None, "from-admin-env", "from-file", "from-admin-env"),
        (None, None, None, "from-file", "from-file"),
    ],
)
def test_key_comes_from_flag_then_attesta_key_then_admin_key_then_data_admin_key(
    api: FakeApi,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    flag: str | None,
    key_env: str | None,
    admin_env: str | None,
    file: str,
    expected: str,
) -> None:
    monkeypatch.delenv("ATTESTA_KEY")
    if key_env:
        monkeypatch.setenv("ATTESTA_KEY", key_env)
    if admin_env:
        monkeypatch.setenv("ATTESTA_ADMIN_KEY", admin_env)
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "admin-key").write_text(file + "\n")
    api.on("GET", "/v1/courses", reply(200, {"items": [], "next_cursor": None}))

    run(api, *(["--key", flag] if flag else []), "courses", "list")

    assert api.last.request.headers["authorization"] == f"Bearer {expected}"


def test_without_any_key_nothing_is_sent(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ATTESTA_KEY")
    assert run(api, "courses", "list") == 1
    assert api.sent == []
    assert "no API key" in capsys.readouterr().err


def test_url_comes_from_flag_then_environment(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.on("GET", "/v1/courses", reply(200, {"items": [], "next_cursor": None}))
    monkeypatch.setenv("ATTESTA_REGISTRATION_URL", "http://registration.internal:9000/")
    run(api, "courses", "list")
    assert str(api.last.request.url).startswith("http://registration.internal:9000/v1/courses?")
    run(api, "--url", "http://flag:1", "courses", "list")
    assert api.last.request.url.host == "flag"


# enrol ---------------------------------------------------------------------------------------
def trainees_csv(path: Path, rows: int) -> bytes:
    lines = ["external_ref,full_name,email"]
    lines += [f"T-{n:06d},Иван Петров {n},ivan.{n}@example.bg" for n in range(1, rows + 1)]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(data)
    return data


def rejection(row: int, ref: str | None, *errors: tuple[str, str]) -> dict[str, Any]:
    return {
        "row": row,
        "external_ref": ref,
        "errors": [{"field": f, "message": m} for f, m in errors],
    }


def test_enrol_streams_the_file_as_the_csv_body_in_64_kib_chunks(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTESTA_KEY", "ak_partner")
    csv_file = tmp_path / "trainees.csv"
    data = trainees_csv(csv_file, 5000)
    assert len(data) > 3 * 64 * 1024
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 5000, "duplicates": 0, "rejected": []}),
    )

    assert run(api, "enrol", "c1", str(csv_file)) == 0

    sent = api.last
    assert sent.request.method == "POST"
    assert sent.request.headers["content-type"].startswith("text/csv")
    assert sent.request.headers["authorization"] == "Bearer ak_partner"
    assert sent.request.headers["content-length"] == str(len(data))
    assert sent.body == data
    assert len(sent.chunks) > 1 and max(map(len, sent.chunks)) == 64 * 1024


def test_enrol_reads_stdin_for_dash_and_sends_it_chunked(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = trainees_csv(tmp_path / "t.csv", 3)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 3, "duplicates": 0, "rejected": []}),
    )

    assert run(api, "enrol", "c1", "-") == 0

    assert api.last.body == data
    assert api.last.request.headers["transfer-encoding"] == "chunked"


def test_enrol_prints_the_counts_and_the_first_20_rejected_rows_then_how_many_more(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainees_csv(tmp_path / "t.csv", 100)
    rejected = [
        rejection(n, f"T-{n:06d}", ("email", "value is not a valid email address"))
        for n in range(1, 26)
    ]
    rejected[1] = rejection(2, None, ("external_ref", "Field required"), ("full_name", "Too long"))
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 70, "duplicates": 5, "rejected": rejected}),
    )

    assert run(api, "enrol", "c1", str(tmp_path / "t.csv")) == 0

    out = capsys.readouterr().out
    assert "100 rows: 70 accepted, 5 duplicates (already enrolled), 25 rejected" in out
    assert "T-000001" in out and "email: value is not a valid email address" in out
    assert "external_ref: Field required; full_name: Too long" in out
    assert "T-000020" in out and "T-000021" not in out
    assert "… and 5 more" in out


def test_enrol_writes_every_rejected_error_to_rejected_out(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainees_csv(tmp_path / "t.csv", 30)
    rejected = [rejection(n, f"T-{n:06d}", ("email", "bad")) for n in range(1, 24)]
    rejected.append(rejection(24, None, ("external_ref", "Field required"), ("email", "bad")))
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 6, "duplicates": 0, "rejected": rejected}),
    )
    out_file = tmp_path / "rejected.csv"

    assert run(api, "enrol", "c1", str(tmp_path / "t.csv"), "--rejected-out", str(out_file)) == 0

    lines = out_file.read_text().splitlines()
    assert lines[0] == "row,external_ref,field,message"
    assert lines[1] == "1,T-000001,email,bad"
    assert lines[-2:] == ["24,,external_ref,Field required", "24,,email,bad"]
    assert len(lines) == 1 + 23 + 2
    assert "written to" in capsys.readouterr().out


def test_enrol_exits_3_when_every_row_is_rejected(api: FakeApi, tmp_path: Path) -> None:
    trainees_csv(tmp_path / "t.csv", 2)
    rejected = [rejection(n, None, ("email", "bad")) for n in (1, 2)]
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 0, "duplicates": 0, "rejected": rejected}),
    )
    assert run(api, "enrol", "c1", str(tmp_path / "t.csv")) == 3


def test_enrol_counts_from_rejected_total_when_the_api_lists_only_the_first_rejections(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainees_csv(tmp_path / "t.csv", 3)
    listed = [rejection(n, f"T-{n:06d}", ("email", "bad")) for n in range(1, 1001)]
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(
            200,
            {
                "rows": 5000,
                "accepted": 0,
                "duplicates": 0,
                "rejected_total": 5000,
                "rejected": listed,
            },
        ),
    )
    out_file = tmp_path / "rejected.csv"

    code = run(api, "enrol", "c1", str(tmp_path / "t.csv"), "--rejected-out", str(out_file))

    assert code == 3
    out, err = capsys.readouterr()
    assert "5000 rows: 0 accepted, 0 duplicates (already enrolled), 5000 rejected" in out
    assert "… and 4980 more" in out
    assert len(out_file.read_text().splitlines()) == 1 + 1000
    assert "first 1000 of 5000 rejected rows" in err


def test_enrol_with_only_duplicates_is_not_a_failure(api: FakeApi, tmp_path: Path) -> None:
    trainees_csv(tmp_path / "t.csv", 2)
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 0, "duplicates": 1, "rejected": [rejection(2, None, ("e", "m"))]}),
    )
    assert run(api, "enrol", "c1", str(tmp_path / "t.csv")) == 0


def test_enrol_reports_upload_progress_every_10_percent_when_stderr_is_not_a_terminal(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trainees_csv(tmp_path / "t.csv", 20_000)  # ~ 15 chunks of 64 KiB
    api.on(
        "POST",
        "/v1/courses/c1/enrolments/bulk",
        reply(200, {"accepted": 20_000, "duplicates": 0, "rejected": []}),
    )
    assert run(api, "enrol", "c1", str(tmp_path / "t.csv")) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "uploading" in line]
    percents = [int(line.split(": ")[1].split("%")[0]) for line in lines]
    assert percents == sorted(percents) and percents[-1] == 100
    assert 8 <= len(percents) <= 10


# progress ------------------------------------------------------------------------------------
def test_progress_in_line_mode_prints_each_10_percent_step_once() -> None:
    out = io.StringIO()
    with Progress(1000, label="up", stream=out, tty=False) as progress:
        for _ in range(40):
            progress.advance(25)
    lines = out.getvalue().splitlines()
    assert [line.split(": ")[1].split("%")[0] for line in lines] == [
        str(p) for p in range(10, 101, 10)
    ]


def test_progress_on_a_terminal_redraws_one_line_and_ends_it() -> None:
    out = io.StringIO()
    ticks: Iterator[float] = iter(float(n) for n in range(100))
    with Progress(200, label="up", stream=out, tty=True, clock=lambda: next(ticks)) as progress:
        progress.advance(100)
        progress.advance(100)
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and "100%" in text
    assert "\n" not in text[:-1]


def test_progress_of_a_pipe_reports_bytes_at_the_end() -> None:
    out = io.StringIO()
    with Progress(None, label="up", stream=out, tty=False) as progress:
        progress.advance(2048)
    assert out.getvalue() == "up: 2.0 KiB sent\n"


# attendance and enrolments -------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        "external_ref,full_name\nT-1,Иван\nT-2,Мария\n\n",
        "full_name;External_Ref\nИван;T-1\nМария;T-2\n",
        "T-1\n  T-2  \n\n",
    ],
    ids=["csv", "semicolon-csv", "plain-list"],
)
def test_attendance_sends_the_refs_of_a_csv_column_or_a_plain_list(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    refs = tmp_path / "present.csv"
    refs.write_text(content, encoding="utf-8")
    api.on(
        "POST",
        "/v1/courses/c1/attendance",
        reply(200, {"recorded": 1, "completed": 0, "unknown": ["T-2"]}),
    )

    assert run(api, "attendance", "c1", "2002-09-10", str(refs)) == 0

    assert api.last.json == {"session": "2002-09-10", "present": ["T-1", "T-2"]}
    out = capsys.readouterr().out
    assert "1 attendances recorded, 0 enrolments completed, 1 unknown" in out
    assert "  T-2" in out


def test_attendance_refuses_a_csv_without_external_ref_column(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = tmp_path / "present.csv"
    refs.write_text("ref,name\nT-1,Иван\n")
    assert run(api, "attendance", "c1", "2002-09-10", str(refs)) == 1
    assert "none is external_ref" in capsys.readouterr().err
    assert api.sent == []


def test_enrolment_show_prints_status_certificate_and_history(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        "/v1/enrolments/e1",
        reply(
            200,
            {
                "id": "e1",
                "course_id": "c1",
                "partner_id": "p1",
                "external_ref": "T-1",
                "full_name": "Иван Петров",
                "email": "ivan@example.bg",
                "status": "completed",
                "certificate_number": "FRMS-2002-000001",
                "attended_sessions": ["2002-09-10", "2002-09-11"],
                "history": [
                    {"status": "enrolled", "at": "2002-09-01T08:00:00Z"},
                    {"status": "completed", "at": "2002-09-11T17:00:00Z", "event": "ev-9"},
                ],
            },
        ),
    )

    assert run(api, "enrolment", "show", "e1") == 0

    out = capsys.readouterr().out
    assert "FRMS-2002-000001" in out and "Иван Петров <ivan@example.bg>" in out
    history = out[out.index("History:") :].splitlines()
    assert "enrolled" in history[2] and "2002-09-01T08:00:00Z" in history[2]
    assert "completed" in history[3] and "ev-9" in history[3]


def test_enrolment_withdraw_posts_and_prints_the_new_status(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", "/v1/enrolments/e1/withdraw", reply(200, {"id": "e1", "status": "withdrawn"}))
    assert run(api, "enrolment", "withdraw", "e1") == 0
    assert "Enrolment e1 is now withdrawn." in capsys.readouterr().out


# reports -------------------------------------------------------------------------------------
def test_report_funders_csv_asks_for_csv_and_prints_the_body_as_is(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "funder,certificates\r\nUSAID,12\r\n"
    api.on(
        "GET",
        "/v1/reports/funders",
        lambda _: httpx.Response(200, text=body, headers={"content-type": "text/csv"}),
    )

    args = ["report", "funders", "--funder", "f1", "--from", "2002-01-01", "--csv"]
    assert run(api, *args) == 0

    request = api.last.request
    assert request.headers["accept"] == "text/csv"
    assert dict(request.url.params) == {"funder": "f1", "from": "2002-01-01"}
    assert capsys.readouterr().out == body


def test_report_course_prints_fields_and_tables(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        "/v1/reports/courses/c1",
        reply(
            200,
            {
                "course_id": "c1",
                "enrolled": 30,
                "by_partner": [{"partner_id": "p1", "completed": 12}],
            },
        ),
    )
    assert run(api, "report", "course", "c1") == 0
    out = capsys.readouterr().out
    assert "enrolled:" in out and "30" in out
    assert "PARTNER_ID" in out and "p1" in out
