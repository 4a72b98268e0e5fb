"""The Helm chart, rendered by the real ``helm``: lint, every example values file, Pod Security
"restricted" for every pod, the schema refusing a typo, names that agree across objects, NOTES and
the alert rules (checked by the real ``promtool``).

``helm`` is found through ``CLUSTERDOC_HELM``, then ``CLUSTERDOC_K8S_BINARIES`` (exported by
scripts/test.sh), then the cache scripts/build-binaries.sh fills, then ``PATH``. Without it these
tests fail, naming the script that builds it; they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterdoc.config import FileConfig

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "clusterdoc"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
BUILD_HINT = "run `bash scripts/build-binaries.sh` (builds helm from Go modules) or set CLUSTERDOC_HELM"
RELEASE = "cd"
NAMESPACE = "ops"



class HelmMissing(RuntimeError):
    pass


@cache
def helm_binary() -> str:
    """The helm binary to run; :class:`HelmMissing` (naming scripts/build-binaries.sh) when there is none."""
    candidates: list[Path] = []
    if os.environ.get("CLUSTERDOC_HELM"):
        candidates.append(Path(os.environ["CLUSTERDOC_HELM"]))
    if os.environ.get("CLUSTERDOC_K8S_BINARIES"):
        candidates.append(Path(os.environ["CLUSTERDOC_K8S_BINARIES"]) / "helm")
    cache_root = Path(os.environ.get("CLUSTERDOC_BIN_CACHE") or Path.home() / ".cache" / "clusterdoc" / "bin")
    if cache_root.is_dir():
        built = [d for d in cache_root.iterdir() if (d / ".complete").is_file()]
        candidates += [d / "helm" for d in sorted(built, key=lambda d: d.stat().st_mtime, reverse=True)]
    on_path = shutil.which("helm")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate)
    looked = ", ".join(str(c) for c in candidates) or f"CLUSTERDOC_HELM, {cache_root}/*/helm, PATH"
    raise HelmMissing(f"no helm binary found (looked at {looked}): {BUILD_HINT}")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/clusterdoc-helm/cache",
           "HELM_CONFIG_HOME": "/tmp/clusterdoc-helm/config", "HELM_DATA_HOME": "/tmp/clusterdoc-helm/data"}
    done = subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=120, env=env, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@cache
def render(values_file: str | None = None, *sets: str) -> tuple[dict[str, Any], ...]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    if values_file:
        args += ["-f", values_file]
    for item in sets:
        args += ["--set", item]
    documents = yaml.safe_load_all(helm(*args).stdout)
    return tuple(doc for doc in documents if doc)


def _cases() -> list[Any]:
    return [pytest.param(None, id="default"), *(pytest.param(str(p), id=p.stem) for p in EXAMPLES)]


def _by_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def _one(docs: tuple[dict[str, Any], ...], kind: str, suffix: str) -> dict[str, Any]:
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, (kind, suffix, [d["metadata"]["name"] for d in docs if d["kind"] == kind])
    return found[0]


# -- Pod Security Standards, "restricted" profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/)

RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What keeps a pod spec out of a namespace labelled ``pod-security.kubernetes.io/enforce: restricted``,
    plus this chart's own rule: a read-only root filesystem with /tmp on an emptyDir."""
    problems: list[str] = []
    psc = pod.get("securityContext") or {}
    containers = [*pod.get("initContainers", []), *pod.get("containers", []), *pod.get("ephemeralContainers", [])]
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is set")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} is of a type restricted forbids: {sorted(kinds)}")
    for sysctl in psc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"unsafe sysctl {sysctl['name']}")
    if (psc.get("seLinuxOptions") or {}).get("user") or (psc.get("seLinuxOptions") or {}).get("role"):
        problems.append("pod seLinuxOptions sets user/role")
    if psc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"pod seccompProfile is {pod_seccomp}")
    tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for container in containers:
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        added = set(capabilities.get("add") or [])
        if added - {"NET_BIND_SERVICE"} or added - BASELINE_CAPABILITIES:
            problems.append(f"{name}: adds capabilities {sorted(added)}")
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        if (sc.get("seccompProfile") or {}).get("type", pod_seccomp) not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: no RuntimeDefault/Localhost seccomp profile")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount {sc['procMount']}")
        if (sc.get("seLinuxOptions") or {}).get("user") or (sc.get("seLinuxOptions") or {}).get("role"):
            problems.append(f"{name}: seLinuxOptions sets user/role")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if mounts.get("/tmp") not in tmp_volumes:
            problems.append(f"{name}: /tmp is not a writable emptyDir")
    return problems


def pod_specs(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        kind = doc["kind"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield f"{kind}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind}/{doc['metadata']['name']}", doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield f"Pod/{doc['metadata']['name']}", doc["spec"]


def test_helm_is_found_or_the_failure_names_the_build_script(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("CLUSTERDOC_HELM", str(tmp_path / "nothing"))
    monkeypatch.setenv("CLUSTERDOC_K8S_BINARIES", str(tmp_path))
    monkeypatch.setenv("CLUSTERDOC_BIN_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    helm_binary.cache_clear()
    try:
        with pytest.raises(HelmMissing, match=r"scripts/build-binaries\.sh"):
            helm_binary()
    finally:
        helm_binary.cache_clear()


def test_the_restricted_check_can_fail() -> None:
    """The checker itself: a bare pod spec breaks every rule it looks at."""
    bare = {"containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}],
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}], "hostNetwork": True}
    problems = "\n".join(restricted_violations(bare))
    for expected in ("hostNetwork", "hostPath", "allowPrivilegeEscalation", "drop ALL", "NET_ADMIN",
                     "runAsNonRoot", "seccomp", "hostPort", "root filesystem", "/tmp"):
        assert expected in problems, expected


@pytest.mark.parametrize("values", [None, *map(str, EXAMPLES)], ids=["default", *(p.stem for p in EXAMPLES)])
def test_helm_lint(values: str | None) -> None:
    args = ["lint", str(CHART), "--strict", "--namespace", NAMESPACE]
    if values:
        args += ["-f", values]
    done = helm(*args)
    assert "0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("values", _cases())
def test_every_pod_is_pod_security_restricted(values: str | None) -> None:
    docs = render(values)
    checked = 0
    for where, spec in pod_specs(docs):
        assert restricted_violations(spec) == [], where
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("values", _cases())
def test_labels_selectors_and_checksums(values: str | None) -> None:
    docs = render(values)
    for doc in docs:
        labels = doc["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/instance") == RELEASE, doc["metadata"]["name"]
        assert labels.get("app.kubernetes.io/name") == "clusterdoc"
        assert labels.get("app.kubernetes.io/managed-by") == "Helm"
    workloads = _by_kind(docs, "Deployment") + _by_kind(docs, "StatefulSet")
    for workload in workloads:
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector["app.kubernetes.io/instance"] == RELEASE
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    for deployment in _by_kind(docs, "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/config"])
    pods = {tuple(sorted(w["spec"]["template"]["metadata"]["labels"].items())) for w in workloads}
    for service in _by_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        assert selector["app.kubernetes.io/instance"] == RELEASE
        assert any(selector.items() <= dict(labels).items() for labels in pods), service["metadata"]["name"]


def test_two_releases_in_one_namespace_select_only_their_own_pods() -> None:
    first = render(None)
    second_docs = yaml.safe_load_all(helm("template", "other", str(CHART), "--namespace", NAMESPACE).stdout)
    second = [doc for doc in second_docs if doc]
    names = {(d["kind"], d["metadata"]["name"]) for d in first}
    assert not names & {(d["kind"], d["metadata"]["name"]) for d in second}
    for service in _by_kind(first, "Service"):
        for other in _by_kind(tuple(second), "Deployment") + _by_kind(tuple(second), "StatefulSet"):
            labels = other["spec"]["template"]["metadata"]["labels"]
            assert not service["spec"]["selector"].items() <= labels.items()


def test_a_config_change_changes_the_checksum() -> None:
    before = _one(render(None), "Deployment", "-bot")["spec"]["template"]["metadata"]["annotations"]
    after = _one(render(None, "config.jobs.retries=5"), "Deployment", "-bot")["spec"]["template"]["metadata"]
    assert after["annotations"]["checksum/config"] != before["checksum/config"]


def test_default_install_shape() -> None:
    docs = render(None)
    bot = _one(docs, "Deployment", "-bot")
    assert bot["metadata"]["name"] == "cd-clusterdoc-bot"
    assert bot["spec"]["replicas"] == 2
    bot_pod = bot["spec"]["template"]["spec"]
    assert bot_pod["automountServiceAccountToken"] is False
    container = bot_pod["containers"][0]
    assert {"livenessProbe", "readinessProbe", "startupProbe"} <= container.keys()
    env = {e["name"]: e for e in container["env"]}
    assert env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "clusterdoc-slack", "key": "SLACK_BOT_TOKEN"}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cd-clusterdoc-redis"
    assert "value" not in env["REDIS_PASSWORD"]
    assert env["REDIS_URL"]["value"] == "redis://cd-clusterdoc-redis:6379/0"
    assert _one(docs, "PodDisruptionBudget", "-bot")["spec"]["minAvailable"] == 1

    worker = _one(docs, "Deployment", "-worker")
    worker_pod = worker["spec"]["template"]["spec"]
    assert worker_pod["serviceAccountName"] == "cd-clusterdoc-diagnose"
    worker_env = {e["name"] for e in worker_pod["containers"][0]["env"]}
    assert "SLACK_SIGNING_SECRET" not in worker_env and "ALERTS_TOKEN" not in worker_env  # only what it uses
    assert "--metrics-port" in worker_pod["containers"][0]["args"]
    assert {"livenessProbe", "readinessProbe"} <= worker_pod["containers"][0].keys()

    redis = _one(docs, "StatefulSet", "-redis")
    redis_script = redis["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "--appendonly yes" in redis_script and "requirepass" in redis_script
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    policy = _one(docs, "NetworkPolicy", "-redis")
    peers = policy["spec"]["ingress"][0]["from"]
    assert peers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    assert peers[0]["podSelector"]["matchExpressions"][0]["values"] == ["bot", "worker"]
    assert len(peers) == 1
    secret = _one(docs, "Secret", "-redis")
    assert len(secret["data"]["redis-password"]) >= 40  # 32 random characters, base64


def test_rendered_diagnostic_role_is_read_only_and_remediation_is_impersonation_only() -> None:
    docs = render(None, "remediation.impersonateApprovers=false")
    roles = {doc["metadata"]["name"]: doc for doc in _by_kind(docs, "ClusterRole")}
    for rule in roles["cd-clusterdoc-diagnose"]["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "secrets" not in rule["resources"] and "*" not in rule["resources"]
    for role in roles.values():
        for rule in role["rules"]:
            assert "secrets" not in rule["resources"] and "*" not in rule["verbs"], rule
    assert roles["cd-clusterdoc-impersonate"]["rules"] == [
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
         "resourceNames": ["cd-clusterdoc-remediate"]}]
    config = yaml.safe_load(_one(docs, "ConfigMap", "-config")["data"]["config.yaml"])
    assert config["approvals"]["remediation_identity"] == {"user": "system:serviceaccount:ops:cd-clusterdoc-remediate"}


def test_schema_rejects_a_misspelt_value() -> None:
    for typo, complaint in (("bot.replica=3", "replica"), ("workers.replicas=3", "workers"),
                            ("redis.persistance.enabled=false", "persistance")):
        done = helm("template", RELEASE, str(CHART), "--set", typo, check=False)
        assert done.returncode != 0, typo
        assert "additional properties" in done.stderr.lower() and complaint in done.stderr, done.stderr
    wrong_type = helm("template", RELEASE, str(CHART), "--set", "bot.replicas=two", check=False)
    assert wrong_type.returncode != 0 and "replicas" in wrong_type.stderr


def test_every_value_is_in_the_schema_and_the_chart_readme() -> None:
    import json

    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    readme = (CHART / "README.md").read_text(encoding="utf-8")

    def leaves(node: Any, schema_node: dict[str, Any], prefix: str) -> Iterator[str]:
        assert "description" in schema_node or not prefix, prefix
        props = schema_node.get("properties") or {}
        if isinstance(node, dict) and props and all("description" in p for p in props.values()):
            assert schema_node.get("additionalProperties") is False, prefix
            assert set(node) == set(props) - {"global"}, prefix
            for key, child in node.items():
                yield from leaves(child, schema_node["properties"][key], f"{prefix}.{key}" if prefix else key)
        else:
            yield prefix

    paths = list(leaves(values, schema, ""))
    assert len(paths) > 60
    missing = [path for path in paths if f"`{path}`" not in readme]
    assert missing == []


@pytest.mark.parametrize("values", [str(p) for p in EXAMPLES], ids=[p.stem for p in EXAMPLES])
def test_example_config_and_runbooks_are_valid(values: str, tmp_path: Path) -> None:
    data = yaml.safe_load(Path(values).read_text(encoding="utf-8")) or {}
    FileConfig.model_validate(data.get("config") or {})
    for name, text in (data.get("runbooks") or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    if data.get("runbooks"):
        from clusterdoc.workers.runbook.loader import Catalogue

        Catalogue.load([tmp_path])


def test_production_example_renders_ingress_monitoring_keda_and_runbooks() -> None:
    docs = render(str(CHART / "examples" / "production.yaml"))
    ingress = _one(docs, "Ingress", "-bot")
    paths = [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert paths == ["/slack/events"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "cd-clusterdoc-bot"
    monitor = _one(docs, "ServiceMonitor", "clusterdoc")
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"http", "metrics"}
    worker_metrics = _one(docs, "Service", "-worker-metrics")
    assert worker_metrics["spec"]["ports"][0]["name"] == "metrics"
    runbooks = _one(docs, "ConfigMap", "-runbooks")
    assert "ingress-controller.yaml" in runbooks["data"]
    worker = _one(docs, "Deployment", "-worker")
    assert "replicas" not in worker["spec"]  # KEDA owns it
    env = {e["name"]: e.get("value") for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CLUSTERDOC_RUNBOOKS"] == "/etc/clusterdoc/runbooks"
    assert env["ETCD_CACERT"] == "/etc/clusterdoc/etcd/ca.crt"
    for name in ("-bot", "-worker"):
        assert _one(docs, "NetworkPolicy", name)["spec"]["policyTypes"] == ["Ingress"]


def test_keda_watches_the_queue_the_worker_consumes() -> None:
    from redis import Redis

    from clusterdoc.queue import cluster_queue

    docs = render(str(CHART / "examples" / "production.yaml"))
    scaled = _one(docs, "ScaledObject", "-worker")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == cluster_queue(Redis(), "prod-eu-1").key
    assert trigger["metadata"]["address"] == "cd-clusterdoc-redis.ops:6379"
    auth = _one(docs, "TriggerAuthentication", "-redis-auth")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == _one(docs, "Deployment", "-worker")["metadata"]["name"]
    keda_peer = _one(docs, "NetworkPolicy", "-redis")["spec"]["ingress"][0]["from"][1]
    assert keda_peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "keda-operator"}


def test_external_redis_sentinel_tls_and_password_come_from_secrets() -> None:
    docs = render(str(CHART / "examples" / "external-redis-sentinel.yaml"))
    assert not _by_kind(docs, "StatefulSet")
    env = {e["name"]: e for e in _one(docs, "Deployment", "-bot")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REDIS_URL"]["value"] == "rediss://redis.data.svc:6379/2"
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-credentials", "key": "password"}
    assert env["REDIS_SENTINELS"]["value"].count(":26379") == 3
    assert env["REDIS_SENTINEL_MASTER"]["value"] == "clusterdoc"
    assert (env["REDIS_CACERT"]["value"], env["REDIS_CERT"]["value"], env["REDIS_KEY"]["value"]) == (
        "/etc/clusterdoc/redis-tls/ca.crt", "/etc/clusterdoc/redis-tls/tls.crt", "/etc/clusterdoc/redis-tls/tls.key")
    trigger = _one(docs, "ScaledObject", "-worker")["spec"]["triggers"][0]
    assert trigger["type"] == "redis-sentinel" and trigger["metadata"]["sentinelMaster"] == "clusterdoc"
    # KEDA reads the ACL user and the Sentinel password from the worker's own environment (secretKeyRef)
    assert trigger["metadata"]["usernameFromEnv"] == "REDIS_USERNAME"
    assert trigger["metadata"]["sentinelPasswordFromEnv"] == "REDIS_SENTINEL_PASSWORD"
    assert env["REDIS_SENTINEL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-credentials",
                                                                           "key": "sentinel-password"}
    assert env["REDIS_USERNAME"]["value"] == "clusterdoc"
    # the queue lives in database 2 of a TLS master: KEDA must look there, over TLS
    assert (trigger["metadata"]["databaseIndex"], trigger["metadata"]["enableTLS"]) == ("2", "true")


def test_created_secret_and_socket_mode() -> None:
    docs = render(str(CHART / "examples" / "socket-mode.yaml"))
    secret = _one(docs, "Secret", "-secrets")
    assert set(secret["data"]) == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ALERTS_TOKEN"}
    env = {e["name"]: e for e in _one(docs, "Deployment", "-bot")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SLACK_APP_TOKEN"]["valueFrom"]["secretKeyRef"].get("optional") is None  # required in Socket Mode
    assert env["SLACK_SIGNING_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert not _by_kind(docs, "PodDisruptionBudget")  # one replica: a PDB would block every drain
    missing = helm("template", RELEASE, str(CHART), "--set", "existingSecret=", check=False)
    assert missing.returncode != 0 and "secret.slackBotToken" in missing.stderr


def rendered_notes(tmp_path: Path, *args: str) -> str:
    """NOTES.txt as ``helm install`` prints it (``helm template`` leaves it out, and install needs a cluster):
    a copy of the chart gets a ConfigMap template that includes NOTES.txt."""
    chart = tmp_path / "clusterdoc"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: |\n"
        '    {{- include (print $.Template.BasePath "/NOTES.txt") . | nindent 4 }}\n', encoding="utf-8")
    done = helm("template", RELEASE, str(chart), "--namespace", NAMESPACE, "--show-only", "templates/zz-notes.yaml",
                *args)
    notes: str = yaml.safe_load(done.stdout)["data"]["notes"]
    return notes


def test_notes_give_the_request_url_and_the_alertmanager_receiver_of_the_real_service(tmp_path: Path) -> None:
    docs = render(str(CHART / "examples" / "production.yaml"))
    service = _one(docs, "Service", "-bot")
    notes = rendered_notes(tmp_path, "-f", str(CHART / "examples" / "production.yaml"))
    assert "https://clusterdoc.example.com/slack/events" in notes
    port = service["spec"]["ports"][0]["port"]
    assert f"url: http://{service['metadata']['name']}.{NAMESPACE}.svc:{port}/alerts" in notes
    assert "/k8s health -c prod-eu-1" in notes
    default = rendered_notes(tmp_path / "default")
    assert "kubectl -n ops create secret generic clusterdoc-slack" in default
    assert "url: http://cd-clusterdoc-bot.ops.svc:80/alerts" in default
    socket = rendered_notes(tmp_path / "socket", "-f", str(CHART / "examples" / "socket-mode.yaml"))
    assert "no request URL is needed" in socket and "/slack/events" not in socket


def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    docs = render(str(CHART / "examples" / "production.yaml"))
    rule = _one(docs, "PrometheusRule", "clusterdoc")
    names = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert names == {"ClusterdocWorkersDown", "ClusterdocQueueBackingUp", "ClusterdocSlackErrors",
                     "ClusterdocDispatcherStalled"}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # every series the rules read is one the bot exports (tests/test_metrics.py checks the export)
    from clusterdoc import metrics
    from clusterdoc.bot.metrics import SERIES

    exported = metrics.exported_names() | SERIES
    used = set(re.findall(r"clusterdoc_[a-z_]+", yaml.safe_dump(rule["spec"])))
    assert used <= exported, used - exported


def test_the_alertmanager_snippet_in_the_notes_is_valid_alertmanager_config(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: apt-get install prometheus-alertmanager"
    notes = rendered_notes(tmp_path)
    snippet = notes.split("2. Alertmanager: add this receiver (and route alerts to it):", 1)[1].split("\n\n")[1]
    receivers = yaml.safe_load(snippet)["receivers"]
    token = tmp_path / "token"
    token.write_text("secret\n", encoding="utf-8")
    receivers[0]["webhook_configs"][0]["http_config"]["authorization"]["credentials_file"] = str(token)
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump({"route": {"receiver": "clusterdoc"}, "receivers": receivers}), encoding="utf-8")
    done = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert receivers[0]["webhook_configs"][0]["url"] == "http://cd-clusterdoc-bot.ops.svc:80/alerts"


def test_alert_rules_fire_on_the_situations_they_name(tmp_path: Path) -> None:
    """promtool's rule unit tests: each alert fires on its situation, from the series the bot exports."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    rule = _one(render(str(CHART / "examples" / "production.yaml")), "PrometheusRule", "clusterdoc")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    bot = 'namespace="ops", service="cd-clusterdoc-bot"'
    descriptions = {r["alert"]: r["annotations"]["description"] for g in rule["spec"]["groups"] for r in g["rules"]}

    def expect(alert: str, severity: str, summary: str, **labels: str) -> dict[str, Any]:
        return {"eval_time": "30m", "alertname": alert, "exp_alerts": [{
            "exp_labels": {"severity": severity, "namespace": "ops", **labels},
            "exp_annotations": {"summary": summary, "description": descriptions[alert]}}]}

    # promtool's clock starts at 0: the dispatcher's last beat (t=0) is 30 minutes old at 30m
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": f'clusterdoc_queue_workers{{{bot}, cluster="prod"}}', "values": "0x30"},
            {"series": f'clusterdoc_queue_workers{{{bot}, cluster="staging"}}', "values": "2x30"},
            {"series": f'clusterdoc_queue_depth{{{bot}, cluster="prod"}}', "values": "50x30"},
            {"series": f'clusterdoc_slack_api_calls_total{{{bot}, method="chat.postMessage"}}', "values": "0+10x30"},
            {"series": f'clusterdoc_slack_api_errors_total{{{bot}, method="chat.postMessage", error="x"}}',
             "values": "0+5x30"},
            {"series": f"clusterdoc_dispatcher_last_beat_timestamp_seconds{{{bot}}}", "values": "0x30"},
        ],
        "alert_rule_test": [
            expect("ClusterdocWorkersDown", "critical", "No clusterdoc worker listens on the queue of cluster prod",
                   cluster="prod"),
            expect("ClusterdocQueueBackingUp", "warning", "50 clusterdoc jobs waiting for cluster prod",
                   cluster="prod"),
            expect("ClusterdocSlackErrors", "warning", "50% of clusterdoc's Slack API calls fail"),
            expect("ClusterdocDispatcherStalled", "critical", "clusterdoc's alert dispatcher has not run for 30m 0s"),
            {"eval_time": "3m", "alertname": "ClusterdocWorkersDown", "exp_alerts": []},
        ],
    }]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    done = subprocess.run([promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("sets", [
    ("redis.auth.enabled=false", "redis.persistence.enabled=false", "redis.networkPolicy.enabled=false"),
    ("redis.enabled=false", "redisUrl=redis://redis.data:6379/1", "externalRedis.existingSecret=redis-pw"),
    ("bot.enabled=false",),
    ("worker.enabled=false", "networkPolicy.enabled=true", "metrics.serviceMonitor.enabled=true"),
    ("runbooks.extra\\.yaml=name: x", "existingSecret=", "secret.slackBotToken=xoxb-1", "bot.replicas=1"),
], ids=["redis-bare", "external-redis", "worker-only", "bot-only", "created-secret"])
def test_value_combinations_render_restricted_pods(sets: tuple[str, ...]) -> None:
    docs = render(None, *sets)
    for where, spec in pod_specs(docs):
        assert restricted_violations(spec) == [], where
    kinds = {doc["kind"] for doc in docs}
    if "bot.enabled=false" in sets:
        assert not any(d["kind"] == "Service" and d["metadata"]["name"].endswith("-bot") for d in docs)
    if "worker.enabled=false" in sets:  # no worker: no cluster permissions at all
        assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    if "redis.enabled=false" in sets:
        bot = _one(docs, "Deployment", "-bot")["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in bot["env"]}
        assert env["REDIS_URL"]["value"] == "redis://redis.data:6379/1"
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-pw", "key": "redis-password"}
    if "redis.auth.enabled=false" in sets:
        assert "REDIS_PASSWORD" not in {e["name"] for e in _one(docs, "Deployment", "-bot")["spec"]["template"]["spec"]
                                         ["containers"][0]["env"]}
    missing_url = helm("template", RELEASE, str(CHART), "--set", "redis.enabled=false", check=False)
    assert missing_url.returncode != 0 and "redisUrl is required" in missing_url.stderr


# -- Prometheus, etcd, Redis ACL/Sentinel password and the worker heartbeat

DATASOURCES = """
prometheus:
  url: https://prometheus.monitoring:9090
  timeout: 2.5
  auth: {existingSecret: prom-creds, usernameKey: user, passwordKey: pass}
  ca: {secret: prom-ca, key: root.pem}
etcd:
  endpoints: https://10.0.0.1:2379,https://10.0.0.2:2379
  timeout: 3
  tlsSecret: etcd-client
worker:
  heartbeatSeconds: 7
redis:
  enabled: false
redisUrl: redis://redis.data:6379/1
externalRedis:
  existingSecret: redis-pw
  username: clusterdoc
  sentinels: s-0.data:26379,s-1.data:26379
  sentinelPasswordKey: sentinel-password
config:
  prometheus:
    jobs: {apiserver: 'job="kubernetes-apiservers"', etcd: 'job="etcd"'}
"""

SECRET_SETTINGS = ("PROMETHEUS_TOKEN", "PROMETHEUS_USERNAME", "PROMETHEUS_PASSWORD", "REDIS_PASSWORD",
                   "REDIS_SENTINEL_PASSWORD", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                   "ALERTS_TOKEN")


def _values_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _container(docs: tuple[dict[str, Any], ...], suffix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = _one(docs, "Deployment", suffix)["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_prometheus_etcd_redis_and_heartbeat_values_reach_the_right_pods(tmp_path: Path) -> None:
    from clusterdoc.config import Settings

    docs = render(_values_file(tmp_path, DATASOURCES))
    worker_pod, worker = _container(docs, "-worker")
    env = {e["name"]: e for e in worker["env"]}
    assert env["PROMETHEUS_URL"]["value"] == "https://prometheus.monitoring:9090"
    assert env["PROMETHEUS_TIMEOUT"]["value"] == "2.5"
    assert env["PROMETHEUS_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": "prom-creds", "key": "user"}
    assert env["PROMETHEUS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "prom-creds", "key": "pass"}
    assert "PROMETHEUS_TOKEN" not in env
    assert env["PROMETHEUS_CACERT"]["value"] == "/etc/clusterdoc/prometheus-ca/root.pem"
    assert env["ETCD_ENDPOINTS"]["value"] == "https://10.0.0.1:2379,https://10.0.0.2:2379"
    assert env["ETCD_TIMEOUT"]["value"] == "3"
    assert env["ETCD_CACERT"]["value"] == "/etc/clusterdoc/etcd/ca.crt"
    assert env["CLUSTERDOC_WORKER_HEARTBEAT_SECONDS"]["value"] == "7"
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    assert mounts["prometheus-ca"] == {"name": "prometheus-ca", "mountPath": "/etc/clusterdoc/prometheus-ca",
                                       "readOnly": True}
    assert mounts["etcd-tls"]["mountPath"] == "/etc/clusterdoc/etcd" and mounts["etcd-tls"]["readOnly"] is True
    volumes = {v["name"]: v for v in worker_pod["volumes"]}
    assert volumes["prometheus-ca"]["secret"]["secretName"] == "prom-ca"
    assert volumes["prometheus-ca"]["secret"]["items"] == [{"key": "root.pem", "path": "root.pem"}]
    # every variable the chart sets is one clusterdoc reads (a misspelt name would be ignored silently)
    read_elsewhere = {"PROMETHEUS_MULTIPROC_DIR", "CLUSTERDOC_LOG_LEVEL", "CLUSTERDOC_LOG_FORMAT"}  # logging, metrics
    assert {e["name"] for e in worker["env"]} - read_elsewhere <= set(Settings.model_fields)
    # the Redis settings go to both processes; Prometheus, etcd and the heartbeat only to the worker
    bot_pod, bot = _container(docs, "-bot")
    for container in (bot, worker):
        both = {e["name"]: e for e in container["env"]}
        assert both["REDIS_USERNAME"]["value"] == "clusterdoc"
        assert both["REDIS_SENTINEL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-pw",
                                                                                 "key": "sentinel-password"}
        assert both["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-pw", "key": "redis-password"}
    bot_names = {e["name"] for e in bot["env"]}
    assert not bot_names & {"PROMETHEUS_URL", "PROMETHEUS_USERNAME", "PROMETHEUS_PASSWORD", "PROMETHEUS_CACERT",
                            "ETCD_ENDPOINTS", "ETCD_TIMEOUT", "CLUSTERDOC_WORKER_HEARTBEAT_SECONDS"}
    assert "prometheus-ca" not in {v["name"] for v in bot_pod["volumes"]}
    for where, spec in pod_specs(docs):
        assert restricted_violations(spec) == [], where
    # the config file's prometheus: section passes through the free-form config value, and clusterdoc accepts it
    config = yaml.safe_load(_one(docs, "ConfigMap", "-config")["data"]["config.yaml"])
    assert FileConfig.model_validate(config).prometheus.jobs["etcd"] == 'job="etcd"'


@pytest.mark.parametrize("values", [
    DATASOURCES,
    "prometheus: {auth: {tokenKey: bearer}}\n",
    "existingSecret: ''\nsecret: {slackBotToken: xoxb-1}\n"
    "prometheus: {auth: {existingSecret: prom, tokenKey: bearer}}\n",
], ids=["basic-auth-and-sentinel", "token-in-chart-secret", "token-in-own-secret"])
def test_no_secret_is_a_literal_value_in_a_pod(values: str, tmp_path: Path) -> None:
    docs = render(_values_file(tmp_path, values))
    for where, spec in pod_specs(docs):
        for container in spec["containers"]:
            for entry in container.get("env", []):
                if entry["name"] in SECRET_SETTINGS:
                    assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], (where, entry)
    if "bearer" in values:
        worker = {e["name"]: e for e in _container(docs, "-worker")[1]["env"]}
        secret = "prom" if "existingSecret: prom" in values else "clusterdoc-slack"
        assert worker["PROMETHEUS_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": "bearer"}


def test_prometheus_ca_from_a_config_map_and_the_defaults(tmp_path: Path) -> None:
    docs = render(None, "prometheus.ca.configMap=prom-ca", "prometheus.url=https://p:9090")
    worker_pod, worker = _container(docs, "-worker")
    env = {e["name"]: e.get("value") for e in worker["env"]}
    assert env["PROMETHEUS_CACERT"] == "/etc/clusterdoc/prometheus-ca/ca.crt"
    volume = {v["name"]: v for v in worker_pod["volumes"]}["prometheus-ca"]
    assert volume["configMap"]["name"] == "prom-ca"
    assert restricted_violations(worker_pod) == []
    defaults = {e["name"]: e.get("value") for e in _container(render(None), "-worker")[1]["env"]}
    assert (defaults["PROMETHEUS_TIMEOUT"], defaults["ETCD_TIMEOUT"], defaults["CLUSTERDOC_WORKER_HEARTBEAT_SECONDS"]) \
        == ("10", "5", "10")
    assert not {"PROMETHEUS_URL", "ETCD_ENDPOINTS", "PROMETHEUS_CACERT", "PROMETHEUS_TOKEN"} & set(defaults)
    # the older way, env.PROMETHEUS_URL, still works on its own
    legacy = {e["name"]: e.get("value") for e in _container(render(None, "env.PROMETHEUS_URL=http://p:9090"),
                                                                "-worker")[1]["env"]}
    assert legacy["PROMETHEUS_URL"] == "http://p:9090"


@pytest.mark.parametrize("sets, complaint", [
    (("prometheus.auth.tokenKey=t", "prometheus.auth.usernameKey=u", "prometheus.auth.passwordKey=p"), "not both"),
    (("prometheus.auth.usernameKey=u",), "both usernameKey and passwordKey"),
    (("prometheus.auth.tokenKey=t", "existingSecret=", "secret.slackBotToken=xoxb-1"),
     "prometheus.auth.existingSecret"),
    (("prometheus.ca.secret=a", "prometheus.ca.configMap=b"), "not both"),
    (("redis.enabled=false", "redisUrl=redis://r:6379/0", "externalRedis.sentinels=s:26379",
      "externalRedis.sentinelPasswordKey=k"), "externalRedis.sentinelPasswordSecret"),
    (("redis.enabled=false", "redisUrl=redis://r:6379/0", "externalRedis.existingSecret=s",
      "externalRedis.sentinelPasswordKey=k"), "only used with externalRedis.sentinels"),
    (("env.PROMETHEUS_TIMEOUT=3",), "prometheus.timeout"),
    (("env.ETCD_ENDPOINTS=https://e:2379", "etcd.endpoints=https://e:2379"), "keep only etcd.endpoints"),
], ids=["token-and-basic", "user-without-password", "no-secret-for-token", "two-cas", "no-sentinel-secret",
        "sentinel-password-without-sentinels", "env-timeout", "env-and-value"])
def test_contradictory_datasource_values_fail_with_one_line(sets: tuple[str, ...], complaint: str) -> None:
    args = [arg for item in sets for arg in ("--set", item)]
    done = helm("template", RELEASE, str(CHART), *args, check=False)
    assert done.returncode != 0 and complaint in done.stderr, done.stderr


@pytest.mark.parametrize("typo, complaint", [
    ("prometheus.uri=https://p:9090", "uri"), ("prometheus.auth.tokenkey=t", "tokenkey"),
    ("prometheus.ca.secretName=ca", "secretName"), ("etcd.endpoint=https://e:2379", "endpoint"),
    ("externalRedis.userName=u", "userName"), ("externalRedis.sentinelPassword=x", "sentinelPassword"),
    ("worker.heartbeatSecond=5", "heartbeatSecond"),
])
def test_schema_rejects_a_misspelt_new_value(typo: str, complaint: str) -> None:
    done = helm("template", RELEASE, str(CHART), "--set", typo, check=False)
    assert done.returncode != 0, typo
    assert "additional properties" in done.stderr.lower() and complaint in done.stderr, done.stderr


@pytest.mark.parametrize("bad", ["prometheus.timeout=0", "prometheus.timeout=301", "etcd.timeout=121",
                                 "worker.heartbeatSeconds=0", "worker.heartbeatSeconds=301",
                                 "prometheus.url=prometheus:9090", "etcd.endpoints=10.0.0.1:2379"])
def test_schema_rejects_out_of_range_datasource_values(bad: str) -> None:
    done = helm("template", RELEASE, str(CHART), "--set", bad, check=False)
    assert done.returncode != 0 and bad.split("=")[0].split(".")[-1] in done.stderr, (bad, done.stderr)
