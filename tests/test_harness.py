"""The harness itself: real Redis, the fake API server's protocol, the fake Slack API, signing."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from clusterdoc.workers.cluster.snapshot import SnapshotStore
from tests.conftest import FakeKubeFactory
from tests.harness.fake_kube import FakeKubeServer, parse_path
from tests.harness.fake_slack import FakeSlackServer
from tests.harness.ports import free_port
from tests.harness.redis_server import RedisServer, RedisServerError
from tests.harness.signing import sign, signed_headers, slash_command_body

# -- ports and Redis ------------------------------------------------------------------------------


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("round_", ["first", "second"])
def test_redis_url_starts_from_an_empty_database(redis_url: str, round_: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    assert connection.dbsize() == 0, "each test gets a flushed database"
    connection.set(f"left-behind-{round_}", "1")
    assert connection.info("server")["redis_version"]
    assert connection.config_get("save") == {"save": ""}


def test_redis_server_missing_binary_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(RedisServerError, match="install Debian's redis-server package"):
        RedisServer(str(tmp_path / "redis-server"))


def test_redis_server_stops_and_cleans_up() -> None:
    with RedisServer() as server:
        port, directory = server.port, server.dir
        assert redis.Redis.from_url(server.url).ping()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert not directory.exists()


# -- the fake Kubernetes API server at the HTTP level ---------------------------------------------


def get(server: FakeKubeServer, path: str, **query: Any) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", path + ("?" + urlencode(query) if query else ""))
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


@pytest.fixture
def kube(fake_kube: FakeKubeFactory, data_dir: Path) -> FakeKubeServer:
    return fake_kube(data_dir / "cluster")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/api/v1/pods", ("Pod", None, None, None), id="all-pods"),
        pytest.param("/api/v1/namespaces/shop/pods", ("Pod", "shop", None, None), id="pods-in-ns"),
        pytest.param("/api/v1/namespaces/shop/pods/web-0", ("Pod", "shop", "web-0", None), id="pod"),
        pytest.param("/api/v1/namespaces/shop/pods/web-0/log", ("Pod", "shop", "web-0", "log"), id="log"),
        pytest.param("/api/v1/namespaces/shop", ("Namespace", None, "shop", None), id="namespace-object"),
        pytest.param("/api/v1/namespaces", ("Namespace", None, None, None), id="namespaces"),
        pytest.param("/api/v1/nodes/node-a", ("Node", None, "node-a", None), id="node"),
        pytest.param("/apis/apps/v1/deployments", ("Deployment", None, None, None), id="all-deployments"),
        pytest.param(
            "/apis/storage.k8s.io/v1/storageclasses/gp3", ("StorageClass", None, "gp3", None), id="storageclass"
        ),
        pytest.param("/apis/apps/v1/namespaces/shop/pods", None, id="pods-not-in-apps"),
        pytest.param("/api/v1/pods/web-0", None, id="namespaced-object-without-namespace"),
        pytest.param(
            "/api/v1/namespaces/shop/nodes", ("Namespace", None, "shop", "nodes"), id="unknown-namespace-subresource"
        ),
        pytest.param("/apis/apps/v1/namespaces/shop/nodes", None, id="nodes-are-not-namespaced"),
        pytest.param("/apis/apps/v2/deployments", None, id="unknown-version"),
        pytest.param("/healthz", None, id="non-resource"),
    ],
)
def test_paths_route_like_the_api_server(path: str, expected: tuple[str, str | None, str | None, str | None]) -> None:
    route = parse_path(path)
    found = None if route is None else (route.kind.kind, route.namespace, route.name, route.subresource)
    assert found == expected


def test_list_body_has_list_kind_metadata_and_items_without_kind(kube: FakeKubeServer) -> None:
    status, headers, body = get(kube, "/apis/apps/v1/namespaces/shop/deployments")
    page = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert (page["kind"], page["apiVersion"]) == ("DeploymentList", "apps/v1")
    assert page["metadata"] == {"resourceVersion": "1000"}
    assert [item["metadata"]["name"] for item in page["items"]] == ["api", "web"]
    assert all("kind" not in item and "apiVersion" not in item for item in page["items"])


def test_paging_tokens_are_opaque_and_complete(kube: FakeKubeServer) -> None:
    seen: list[str] = []
    token = ""
    for _ in range(10):
        query = {"limit": 2, **({"continue": token} if token else {})}
        page = json.loads(get(kube, "/api/v1/pods", **query)[2])
        seen += [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
        assert "shop" not in token and "/" not in token
        assert page["metadata"]["remainingItemCount"] == 5 - len(seen)
    assert seen == sorted(seen) and len(seen) == 5


def test_resource_version_zero_is_accepted(kube: FakeKubeServer) -> None:
    status, _, body = get(kube, "/api/v1/nodes", resourceVersion="0", limit=500)
    assert status == 200 and len(json.loads(body)["items"]) == 3


def test_resource_version_zero_can_ignore_limit_like_old_watch_caches(data_dir: Path) -> None:
    with FakeKubeServer(data_dir / "cluster", rv0_ignores_limit=True) as server:
        page = json.loads(get(server, "/api/v1/nodes", resourceVersion="0", limit=1)[2])
    assert len(page["items"]) == 3 and "continue" not in page["metadata"]


def status_of(body: bytes) -> dict[str, Any]:
    status = json.loads(body)
    assert (status["kind"], status["apiVersion"], status["status"]) == ("Status", "v1", "Failure")
    return status


@pytest.mark.parametrize(
    ("path", "query", "code", "reason", "message"),
    [
        pytest.param(
            "/api/v1/namespaces/shop/pods/web-0", {}, 404, "NotFound", 'pods "web-0" not found', id="missing-pod"
        ),
        pytest.param(
            "/apis/apps/v1/namespaces/shop/deployments/nope", {}, 404, "NotFound",
            'deployments.apps "nope" not found', id="missing-deployment",
        ),
        pytest.param(
            "/api/v1/widgets", {}, 404, "NotFound", "the server could not find the requested resource", id="no-kind"
        ),
        pytest.param(
            "/api/v1/namespaces/shop/nodes", {}, 404, "NotFound", "the server could not find the requested resource",
            id="no-such-subresource",
        ),
        pytest.param(
            "/api/v1/pods", {"fieldSelector": "spec.priority=1"}, 400, "BadRequest",
            'Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.priority=1": '
            "field label not supported: spec.priority",
            id="unsupported-pod-field",
        ),
        pytest.param(
            "/apis/apps/v1/deployments", {"fieldSelector": "spec.replicas=1"}, 400, "BadRequest",
            'Unable to find "apps/v1, Resource=deployments" that match label selector "", field selector '
            '"spec.replicas=1": "spec.replicas" is not a known field selector: only "metadata.name", '
            '"metadata.namespace"',
            id="unsupported-default-field",
        ),
        pytest.param(
            "/api/v1/pods", {"fieldSelector": "spec.nodeName"}, 400, "BadRequest",
            "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'", id="field-without-operator",
        ),
        pytest.param(
            "/api/v1/pods", {"labelSelector": "app web"}, 400, "BadRequest",
            'unable to parse requested label selector "app web"', id="bad-label-selector",
        ),
        pytest.param(
            "/api/v1/pods", {"continue": "!!!"}, 400, "BadRequest", "continue key is not valid", id="bad-continue"
        ),
        pytest.param(
            "/api/v1/namespaces/shop/pods/api-6b8f9d7c4-x2k9p/log", {}, 400, "BadRequest",
            "a container name must be specified for pod api-6b8f9d7c4-x2k9p, choose one of: [app log-shipper] "
            "or one of the init containers: [migrate]",
            id="log-needs-container",
        ),
        pytest.param(
            "/api/v1/namespaces/shop/pods/db-0/log", {}, 400, "BadRequest",
            'container "postgres" in pod "db-0" is waiting to start: ContainerCreating', id="log-of-pending-pod",
        ),
    ],
)
def test_errors_are_status_objects(
    kube: FakeKubeServer, path: str, query: dict[str, str], code: int, reason: str, message: str
) -> None:
    status, _, body = get(kube, path, **query)
    body_status = status_of(body)
    assert (status, body_status["code"], body_status["reason"]) == (code, code, reason)
    assert body_status["message"].startswith(message)


def test_not_found_details_name_the_object(kube: FakeKubeServer) -> None:
    details = status_of(get(kube, "/apis/apps/v1/namespaces/shop/deployments/nope")[2])["details"]
    assert details == {"name": "nope", "kind": "deployments", "group": "apps"}


def test_injected_faults_count_down_and_carry_retry_after(kube: FakeKubeServer) -> None:
    kube.fail("/nodes", 429, times=2, retry_after=3)
    first, second, third = (get(kube, "/api/v1/nodes") for _ in range(3))
    assert first[0] == second[0] == 429 and third[0] == 200
    assert first[1]["Retry-After"] == "3"
    assert status_of(first[2])["details"] == {"kind": "nodes", "retryAfterSeconds": 3}
    kube.fail("/nodes", 500, times=None, message="etcdserver: request timed out")
    for _ in range(3):
        status, _, body = get(kube, "/api/v1/nodes/node-a")
        assert (status, status_of(body)["message"]) == (500, "etcdserver: request timed out")
    kube.clear_faults()
    assert get(kube, "/api/v1/nodes/node-a")[0] == 200


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        pytest.param(
            "/api/v1/pods", {}, 'pods is forbidden: User "system:serviceaccount:clusterdoc:clusterdoc" cannot list '
            'resource "pods" in API group "" at the cluster scope', id="list-cluster-scope",
        ),
        pytest.param(
            "/api/v1/namespaces/shop/events", {"watch": "true"}, 'events is forbidden: User '
            '"system:serviceaccount:clusterdoc:clusterdoc" cannot watch resource "events" in API group "" in the '
            'namespace "shop"', id="watch-in-namespace",
        ),
        pytest.param(
            "/apis/apps/v1/namespaces/shop/deployments/web", {}, 'deployments.apps "web" is forbidden: User '
            '"system:serviceaccount:clusterdoc:clusterdoc" cannot get resource "deployments" in API group "apps" in '
            'the namespace "shop"', id="get-in-group",
        ),
        pytest.param(
            "/api/v1/namespaces/shop/pods/db-0/log", {}, 'pods "db-0" is forbidden: User '
            '"system:serviceaccount:clusterdoc:clusterdoc" cannot get resource "pods/log" in API group "" in the '
            'namespace "shop"', id="logs",
        ),
    ],
)
def test_403_reads_like_the_rbac_authorizer(
    kube: FakeKubeServer, path: str, query: dict[str, str], message: str
) -> None:
    kube.fail(".", 403)
    status, _, body = get(kube, path, **query)
    assert status == 403
    assert status_of(body)["reason"] == "Forbidden"
    assert status_of(body)["message"] == message


def test_writes_are_refused_until_a_write_handler_exists(kube: FakeKubeServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", kube.port, timeout=5)
    connection.request("DELETE", "/api/v1/namespaces/shop/pods/db-0")
    response = connection.getresponse()
    assert response.status == 405 and status_of(response.read())["reason"] == "MethodNotAllowed"
    kube.write_handler = lambda method, path, query, body, headers: (
        202, json.dumps({"seen": [method, path, body.decode()]}).encode(), "application/json", {}
    )
    connection.request("PATCH", "/api/v1/nodes/node-c?dryRun=All", body=b'{"spec":{"unschedulable":false}}')
    response = connection.getresponse()
    assert response.status == 202
    assert json.loads(response.read())["seen"] == ["PATCH", "/api/v1/nodes/node-c", '{"spec":{"unschedulable":false}}']
    connection.close()


def test_request_log_records_method_path_query_and_status(kube: FakeKubeServer) -> None:
    get(kube, "/api/v1/namespaces/shop/pods", labelSelector="app.kubernetes.io/name=web", limit=10)
    get(kube, "/api/v1/nodes/node-z")
    (listing, missing) = kube.requests
    assert (listing.method, listing.path, listing.status) == ("GET", "/api/v1/namespaces/shop/pods", 200)
    assert listing.query == {"labelSelector": "app.kubernetes.io/name=web", "limit": "10"}
    assert (missing.path, missing.status) == ("/api/v1/nodes/node-z", 404)
    assert kube.request_count("/nodes/") == 1
    kube.reset_log()
    assert kube.requests == []


def test_delay_holds_matching_answers(kube: FakeKubeServer) -> None:
    kube.delay("/nodes$", 0.3, times=1)
    get(kube, "/api/v1/nodes")
    get(kube, "/api/v1/nodes")
    delayed, prompt = kube.requests
    assert prompt.time - delayed.time >= 0.3


def test_keep_alive_serves_many_requests_on_one_connection(kube: FakeKubeServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", kube.port, timeout=5)
    for path in ("/api/v1/nodes", "/api/v1/nodes/nope", "/api/v1/namespaces/shop/pods/db-0", "/version"):
        connection.request("GET", path)
        connection.getresponse().read()
    connection.close()
    assert kube.connections_opened == 1


def generated_cluster(nodes: int, pods_per_node: int) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{n:04d}"}} for n in range(nodes)
    ]
    for n in range(nodes):
        for p in range(pods_per_node):
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"app-{n:04d}-{p}", "namespace": f"team-{p % 3}", "labels": {"app": "x"}},
                    "spec": {"nodeName": f"node-{n:04d}", "containers": [{"name": "app"}]},
                    "status": {"phase": "Running"},
                }
            )
    return objects


def test_generated_store_and_node_index(fake_kube: FakeKubeFactory) -> None:
    server = fake_kube(SnapshotStore(generated_cluster(nodes=200, pods_per_node=10)))
    page = json.loads(get(server, "/api/v1/pods", fieldSelector="spec.nodeName=node-0042", limit=4)[2])
    assert [i["metadata"]["name"] for i in page["items"]] == ["app-0042-0", "app-0042-3", "app-0042-6", "app-0042-9"]
    assert "continue" in page["metadata"], "more pods of node-0042 live in team-1 and team-2"
    names = [i["metadata"]["name"] for i in page["items"]]
    pages = 1
    while page["metadata"].get("continue"):
        query = {"fieldSelector": "spec.nodeName=node-0042", "limit": 4, "continue": page["metadata"]["continue"]}
        page = json.loads(get(server, "/api/v1/pods", **query)[2])
        names += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
    assert (pages, sorted(names)) == (3, sorted(f"app-0042-{p}" for p in range(10)))
    scoped = json.loads(get(server, "/api/v1/namespaces/team-2/pods", fieldSelector="spec.nodeName=node-0042")[2])
    assert [i["metadata"]["name"] for i in scoped["items"]] == ["app-0042-2", "app-0042-5", "app-0042-8"]


# -- the fake Slack Web API through slack_sdk ----------------------------------------------------


@pytest.fixture
def slack(fake_slack: FakeSlackServer) -> WebClient:
    fake_slack.session_record = False  # these tests exercise the fake, not clusterdoc's Slack calls
    return WebClient(token="xoxb-test", base_url=fake_slack.url)


def test_auth_test_identifies_the_bot(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    response = slack.auth_test()
    assert (response["user_id"], response["bot_id"], response["team_id"]) == ("U0BOT", "B0BOT", "T1")
    (call,) = fake_slack.calls_to("auth.test")
    assert call.headers["Authorization"] == "Bearer xoxb-test" and call.token == "xoxb-test"


def test_post_message_threads_and_updates(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    root = slack.chat_postMessage(channel="C123", text="why-pending shop/web-0, asked by <@U123>")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*verdict*"}}]
    reply = slack.chat_postMessage(channel="C123", text="verdict", thread_ts=root["ts"], blocks=blocks)
    assert root["ts"] == "1732700000.000100" and float(reply["ts"]) > float(root["ts"])
    assert reply["channel"] == "C123" and reply["message"]["thread_ts"] == root["ts"]
    assert reply["message"]["blocks"] == blocks
    updated = slack.chat_update(channel="C123", ts=root["ts"], text="why-pending shop/web-0: done")
    assert updated["ts"] == root["ts"] and updated["text"] == "why-pending shop/web-0: done"
    assert [m["text"] for m in fake_slack.thread(root["ts"])] == ["verdict"]
    assert fake_slack.posted_messages("C123")[0]["text"] == "why-pending shop/web-0: done"
    assert fake_slack.calls_to("chat.postMessage")[1].params["thread_ts"] == root["ts"]


def test_post_message_errors_like_slack(slack: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught, pytest.warns(UserWarning, match="`text` argument is missing"):
        slack.chat_postMessage(channel="C123", text="")
    assert caught.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as caught:
        slack.chat_update(channel="C123", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=slack.base_url).chat_postMessage(channel="C123", text="no token")
    assert caught.value.response["error"] == "not_authed"


def test_ephemeral_users_and_groups(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    assert slack.chat_postEphemeral(channel="C123", user="U123", text="usage: ...")["message_ts"]
    assert slack.users_info(user="U123")["user"]["name"] == "alice"
    with pytest.raises(SlackApiError, match="user_not_found"):
        slack.users_info(user="U999")
    fake_slack.set_usergroup("S0SRE", ["U123", "U456"])
    assert slack.usergroups_users_list(usergroup="S0SRE")["users"] == ["U123", "U456"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        slack.usergroups_users_list(usergroup="S0NOPE")


def test_files_upload_v2_into_a_thread(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    root = slack.chat_postMessage(channel="C123", text="root")
    content = "NAME  STATUS\n" + "node-a  Ready\n" * 500
    response = slack.files_upload_v2(
        channel="C123", thread_ts=root["ts"], content=content, filename="nodes.txt", title="Nodes"
    )
    assert response["file"]["title"] == "Nodes"
    (upload,) = fake_slack.files_in_thread(root["ts"])
    assert (upload.text, upload.filename, upload.channel) == (content, "nodes.txt", "C123")
    assert [c.method for c in fake_slack.calls][-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_rate_limit_is_honoured_by_the_retry_handler(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    slack.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    assert slack.chat_postMessage(channel="C123", text="after the wait")["ok"]
    limited, accepted = fake_slack.calls_to("chat.postMessage", include_rate_limited=True)
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.time - limited.time >= 1.0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_rate_limit_without_retry_handler_surfaces_429(fake_slack: FakeSlackServer) -> None:
    client = WebClient(token="xoxb-test", base_url=fake_slack.url, retry_handlers=[])
    fake_slack.rate_limit("chat.update", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"


def test_unknown_method(slack: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack.api_call("views.publishEverything")
    assert caught.value.response["error"] == "unknown_method"


def test_form_encoded_json_fields_are_decoded(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    blocks = [{"type": "divider"}]
    slack.api_call("chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)})
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.params["blocks"] == blocks


def test_response_url_posts_are_recorded(fake_slack: FakeSlackServer) -> None:
    url = fake_slack.response_url()
    assert urlsplit(url).hostname == "127.0.0.1" and fake_slack.response_url() != url
    response = WebhookClient(url).send(text="usage: /k8s why-pending POD", response_type="ephemeral")
    assert response.status_code == 200
    (posted,) = fake_slack.responses
    assert posted["text"] == "usage: /k8s why-pending POD" and posted["response_type"] == "ephemeral"
    assert posted.url == url


def test_wait_for_polls_until_calls_arrive_or_says_what_it_saw(slack: WebClient, fake_slack: FakeSlackServer) -> None:
    slack.auth_test()
    assert len(fake_slack.wait_for("auth.test", 1, timeout=1)) == 1
    with pytest.raises(AssertionError, match=r"got 0; methods seen: \['auth.test'\]"):
        fake_slack.wait_for("chat.postMessage", 1, timeout=0.2)


# -- signing ---------------------------------------------------------------------------------------

SLACK_DOCS_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_signature_matches_slacks_documented_example() -> None:
    headers = sign("8f742231b10e8888abcd99yyyzzz85a5", SLACK_DOCS_BODY, 1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_signature_verifies_with_slack_sdk_and_fails_when_tampered() -> None:
    body = slash_command_body(text="why-pending web-0 -n shop")
    headers = sign("s3cret", body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid(body + b"x", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign("s3cret", body, int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(body, stale), "older than five minutes"
    assert signed_headers("s3cret", body)["Content-Type"] == "application/x-www-form-urlencoded"


def test_slash_command_body_is_what_slack_sends(fake_slack: FakeSlackServer) -> None:
    response_url = fake_slack.response_url()
    body = slash_command_body(text="why-pending web-0 -n shop", response_url=response_url)
    assert b"command=%2Fk8s" in body and b"text=why-pending+web-0+-n+shop" in body
    fields = {key: values[0] for key, values in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert list(fields) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name", "command",
        "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]
    assert fields["command"] == "/k8s" and fields["text"] == "why-pending web-0 -n shop"
    assert (fields["user_id"], fields["user_name"], fields["channel_id"], fields["team_id"]) == (
        "U123", "alice", "C123", "T1",
    )
    assert fields["response_url"] == response_url
    assert parse_qs(slash_command_body().decode(), keep_blank_values=True)["text"] == [""]


def test_signed_slash_command_runs_through_a_real_bolt_app(fake_slack: FakeSlackServer) -> None:
    from slack_bolt import App
    from slack_bolt.request import BoltRequest

    app = App(signing_secret="s3cret", client=WebClient(token="xoxb-test", base_url=fake_slack.url))

    @app.command("/k8s")
    def k8s(ack: Any, command: dict[str, Any], say: Any, respond: Any) -> None:
        ack()
        say(text=f"{command['text']}, asked by <@{command['user_id']}>")
        respond(text="queued", response_type="ephemeral")

    body = slash_command_body(text="why-pending web-0 -n shop", response_url=fake_slack.response_url())
    good = app.dispatch(BoltRequest(body=body.decode(), headers=signed_headers("s3cret", body)))
    assert good.status == 200
    (post,) = fake_slack.wait_for("chat.postMessage", 1)
    assert (post.params["channel"], post.params["text"]) == ("C123", "why-pending web-0 -n shop, asked by <@U123>")
    assert [r["text"] for r in fake_slack.wait_for_responses(1)] == ["queued"]
    forged = app.dispatch(BoltRequest(body=body.decode(), headers=signed_headers("wrong", body)))
    assert forged.status == 401
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_non_ascii_text_survives_the_round_trip(fake_kube: FakeKubeFactory) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "shop"},
        "message": "Back-off pulling image “registry.example.com/café:1.0” — ✗",
    }
    server = fake_kube([event])
    page = json.loads(get(server, "/api/v1/namespaces/shop/events")[2])
    assert page["items"][0]["message"] == event["message"]
