"""The deployment assets, checked offline: the Kubernetes manifests (deploy/k8s), the alert rules
and the dashboard (deploy/observability) and the compose file (deploy/docker-compose.yml).

No kustomize binary and no cluster: `build()` below renders a kustomization with exactly the
features deploy/k8s uses (resources, labels, configMapGenerator, secretGenerator, patches as
strategic merges, images, namespace) and refuses any other field, so a new feature needs a line
here before it can be used. Built-in objects are validated against the Kubernetes OpenAPI schemas
of kubernetes-validate (strict: unknown fields fail); custom resources against the hand-made
subsets of the operators' CRDs in tests/deploy_schemas/. Then the semantic checks: what a schema
cannot say (probes on declared ports, PDBs and monitors selecting what exists, secrets and keys
referenced that exist, KEDA on nameko's RPC queue names, alert metrics that are exported…).
"""

import base64
import copy
import functools
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
OBSERVABILITY = ROOT / "deploy" / "observability"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SCHEMAS = Path(__file__).resolve().parents[1] / "deploy_schemas"

# the oldest and the newest Kubernetes the manifests are validated against
KUBERNETES_VERSIONS = ("1.31", "1.37")

SERVICES = ("accounts", "billing", "catalog", "vouchers", "tickets", "notifier", "insights")
WORKLOADS = SERVICES + ("gateway",)
IMAGE = "registry.example.com/subscriber-portal:0.1.0"  # what the production overlay sets
NAMESPACE = "portal"
HEALTH_PORT = 9100

# the secrets each workload gets (env name -> (Secret, key)), and nothing else
SECRET_ENV = {
    "accounts": {"ADMIN_EMAIL": ("portal-admin", "ADMIN_EMAIL"),
                 "ADMIN_PASSWORD": ("portal-admin", "ADMIN_PASSWORD")},
    "billing": {"SECRET_KEY": ("portal-app-secrets", "SECRET_KEY")},
    "catalog": {},
    "vouchers": {"VOUCHER_SECRET_KEY": ("portal-app-secrets", "VOUCHER_SECRET_KEY")},
    "tickets": {},
    "insights": {},
    "notifier": {"SMTP_USERNAME": ("portal-smtp", "SMTP_USERNAME"),
                 "SMTP_PASSWORD": ("portal-smtp", "SMTP_PASSWORD")},
    "gateway": {},
}
for _name in SERVICES:
    SECRET_ENV[_name]["DB_PASSWORD"] = (f"portal-db-{_name}", "password")
for _name in WORKLOADS:
    SECRET_ENV[_name]["AMQP_URI"] = ("portal-rabbitmq-default-user", "connection_string")

# Secrets the operators make (not in the manifests): name -> the keys they hold
# (rabbitmq/cluster-operator v2.22.3 internal/resource/default_user_secret.go)
OPERATOR_SECRETS = {
    "portal-rabbitmq-default-user": {"username", "password", "host", "port", "provider", "type",
                                     "default_user.conf", "connection_string"},
}

# --- the metrics the rules and the dashboard may use -------------------------------------------
PORTAL_METRICS = {
    "portal_entrypoint_duration_seconds": "histogram",
    "portal_outbox_backlog": "gauge",
    "portal_outbox_oldest_age_seconds": "gauge",
    "portal_outbox_published_total": "counter",
    "portal_outbox_failures_total": "counter",
    "portal_timer_runs_total": "counter",
    "portal_broker_connected": "gauge",
    "portal_rpc_replies_dropped_total": "counter",
    "portal_rpc_duration_seconds": "histogram",
    "portal_http_requests_total": "counter",
    "portal_http_request_duration_seconds": "histogram",
}
# rabbitmq_prometheus (rabbitmq-server v4.3.5, deps/rabbitmq_prometheus/src/collectors/
# prometheus_rabbitmq_core_metrics_collector.erl): /metrics/detailed prefixes rabbitmq_detailed_
RABBITMQ_METRICS = {
    "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_consumers",
    "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_queue_messages",
    "rabbitmq_queue_consumers", "rabbitmq_connections", "rabbitmq_channels", "rabbitmq_consumers",
    "rabbitmq_queues", "rabbitmq_identity_info", "rabbitmq_build_info",
}
OTHER_METRICS = {"up"}
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
}


# --- a small kustomize -------------------------------------------------------------------------
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "labels", "configMapGenerator",
                        "secretGenerator", "patches", "images", "namespace"}
GENERATOR_FIELDS = {"name", "envs", "literals", "behavior", "type", "options"}
CLUSTER_SCOPED = {"Namespace"}
WORKLOAD_KINDS = {"Deployment"}
HASHED = "__hash_suffix__"  # marks a generated object whose name gets the content hash


class KustomizeError(Exception):
    pass


def read_env_file(path: Path, example_fallback: bool) -> dict:
    if not path.exists():
        example = path.with_name(path.name + ".example")
        if not (example_fallback and example.exists()):
            raise KustomizeError(f"{path} is missing")
        path = example
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise KustomizeError(f"{path}: {line!r} is not KEY=VALUE")
        key, value = line.split("=", 1)
        values[key.strip()] = value
    return values


def generate(kind: str, spec: dict, folder: Path, example_fallback: bool) -> dict:
    unknown = set(spec) - GENERATOR_FIELDS
    if unknown:
        raise KustomizeError(f"{kind} generator {spec.get('name')}: unsupported {unknown}")
    data = {}
    for literal in spec.get("literals", []):
        key, value = literal.split("=", 1)
        data[key] = value
    for env in spec.get("envs", []):
        data.update(read_env_file(folder / env, example_fallback))
    options = spec.get("options", {})
    if set(options) - {"disableNameSuffixHash", "labels"}:
        raise KustomizeError(f"unsupported generator options {options}")
    obj = {"apiVersion": "v1", "kind": kind,
           "metadata": {"name": spec["name"], **({"labels": dict(options["labels"])}
                                                  if "labels" in options else {})}}
    if kind == "Secret":
        obj["type"] = spec.get("type", "Opaque")
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    if not options.get("disableNameSuffixHash"):
        obj[HASHED] = True
    return obj


def strategic_merge(target, patch):
    if isinstance(patch, dict) and isinstance(target, dict):
        for key, value in patch.items():
            if key.startswith("$"):
                raise KustomizeError(f"patch directive {key} is not supported")
            target[key] = strategic_merge(target[key], value) if key in target else value
        return target
    if (isinstance(patch, list) and isinstance(target, list)
            and all(isinstance(i, dict) and "name" in i for i in patch + target)):
        by_name = {item["name"]: item for item in target}
        for item in patch:
            if item["name"] in by_name:
                strategic_merge(by_name[item["name"]], item)
            else:
                target.append(item)
        return target
    return copy.deepcopy(patch)


def find(objs: list, kind: str, name: str) -> dict:
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(hits) != 1:
        raise KustomizeError(f"{kind}/{name}: {len(hits)} matches")
    return hits[0]


def pod_specs(obj: dict) -> list:
    return [obj["spec"]["template"]["spec"]] if obj["kind"] in WORKLOAD_KINDS else []


def build(folder: Path, example_fallback: bool = True, _top: bool = True) -> list:
    """Renders the kustomization in `folder` like `kubectl kustomize` would (but for the hash
    suffixes' exact letters). Missing env files of secretGenerators are read from their
    `.example` when `example_fallback`."""
    k = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(k) - KUSTOMIZATION_FIELDS
    if unknown:
        raise KustomizeError(f"{folder}: unsupported kustomization fields {sorted(unknown)}")
    objs = []
    for entry in k.get("resources", []):
        path = folder / entry
        if path.is_dir():
            objs += build(path, example_fallback, _top=False)
        else:
            objs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for spec in k.get(field, []):
            generated = generate(kind, spec, folder, example_fallback)
            behavior = spec.get("behavior", "create")
            if behavior == "create":
                objs.append(generated)
            elif behavior == "merge":
                existing = find(objs, kind, spec["name"])
                existing["data"].update(generated["data"])
            else:
                raise KustomizeError(f"generator behavior {behavior} is not supported")
    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"only `patches: - path:` is supported, not {patch}")
        for doc in yaml.safe_load_all((folder / patch["path"]).read_text()):
            target = find(objs, doc["kind"], doc["metadata"]["name"])
            if target["apiVersion"] != doc["apiVersion"]:
                raise KustomizeError(f"patch {patch['path']}: apiVersion {doc['apiVersion']}")
            strategic_merge(target, copy.deepcopy(doc))
    for label in k.get("labels", []):
        if set(label) - {"pairs", "includeTemplates"}:
            raise KustomizeError(f"unsupported labels entry {label}")
        for obj in objs:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
            if label.get("includeTemplates") and obj["kind"] in WORKLOAD_KINDS:
                meta = obj["spec"]["template"].setdefault("metadata", {})
                meta.setdefault("labels", {}).update(label["pairs"])
    for image in k.get("images", []):
        for obj in objs:
            for spec in pod_specs(obj):
                for container in spec.get("containers", []) + spec.get("initContainers", []):
                    name = re.split(r"[:@]", container["image"], maxsplit=1)[0]
                    if name == image["name"]:
                        container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    if "namespace" in k:
        for obj in objs:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = k["namespace"]
    if _top:
        add_hash_suffixes(objs)
    return objs


def add_hash_suffixes(objs: list) -> None:
    renamed = {}
    for obj in objs:
        if obj.pop(HASHED, False):
            content = json.dumps({"kind": obj["kind"], "name": obj["metadata"]["name"],
                                  "data": obj["data"], "type": obj.get("type")}, sort_keys=True)
            digest = hashlib.sha256(content.encode()).hexdigest()[:10]
            new_name = f"{obj['metadata']['name']}-{digest}"
            renamed[(obj["kind"], obj["metadata"]["name"])] = new_name
            obj["metadata"]["name"] = new_name
    for obj in objs:
        for spec in pod_specs(obj):
            for container in spec["containers"]:
                for source in container.get("envFrom", []):
                    for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                        if field in source:
                            ref = source[field]
                            ref["name"] = renamed.get((kind, ref["name"]), ref["name"])
                for var in container.get("env", []):
                    for kind, field in (("ConfigMap", "configMapKeyRef"),
                                        ("Secret", "secretKeyRef")):
                        ref = var.get("valueFrom", {}).get(field)
                        if ref:
                            ref["name"] = renamed.get((kind, ref["name"]), ref["name"])


@functools.cache
def rendered(which: str) -> tuple:
    return tuple(build(BASE if which == "base" else PRODUCTION))


def objects(kind: str, which: str = "production") -> list:
    return [o for o in rendered(which) if o["kind"] == kind]


def by_name(kind: str, which: str = "production") -> dict:
    return {o["metadata"]["name"]: o for o in objects(kind, which)}


def original_name(obj: dict) -> str:
    """A generated object's name without its hash suffix."""
    return re.sub(r"-[0-9a-f]{10}$", "", obj["metadata"]["name"])


def deployment(name: str) -> dict:
    return by_name("Deployment")[f"portal-{name}"]


def container(name: str) -> dict:
    (only,) = deployment(name)["spec"]["template"]["spec"]["containers"]
    return only


def config_data() -> dict:
    (config,) = objects("ConfigMap")
    return config["data"]


def secrets() -> dict:
    return {original_name(s): {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
            for s in objects("Secret")}


def selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are used"
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


# --- rendering ---------------------------------------------------------------------------------
def test_the_overlay_renders_every_object_of_the_system():
    kinds = {}
    for obj in rendered("production"):
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    assert kinds == {
        "Namespace": 1, "Deployment": 8, "Service": 8, "PodDisruptionBudget": 8,
        "ScaledObject": 7, "HorizontalPodAutoscaler": 1, "TriggerAuthentication": 1,
        "RabbitmqCluster": 1, "Cluster": 1, "Database": 7, "Pooler": 1, "ServiceMonitor": 3,
        "PrometheusRule": 1, "NetworkPolicy": 3, "ConfigMap": 1, "Secret": 10,
    }
    names = [(o["kind"], o["metadata"]["name"]) for o in rendered("production")]
    assert len(names) == len(set(names)), "two objects of one kind share a name"
    for obj in rendered("production"):
        expected = None if obj["kind"] == "Namespace" else NAMESPACE
        assert obj["metadata"].get("namespace") == expected, obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "subscriber-portal"
    # the overlay's own values win over the base's
    assert config_data()["DATABASE_HOST"] == f"portal-db-pooler.{NAMESPACE}.svc"
    assert by_name("RabbitmqCluster")["portal-rabbitmq"]["spec"]["persistence"]["storage"] == "50Gi"
    assert by_name("Cluster")["portal-db"]["spec"]["storage"]["size"] == "100Gi"


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplacements: []\n")
    with pytest.raises(KustomizeError, match="replacements"):
        build(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: s\n  envs: [missing.env]\n")
    with pytest.raises(KustomizeError, match="missing"):
        build(tmp_path)


GENERATED_NAME = re.compile(r"-[0-9a-z]{10}$")


def without_hash_suffixes(objs) -> list:
    """The objects with the generated names' hash suffixes cut (kustomize's letters and ours
    differ), sorted."""
    hashed = {o["metadata"]["name"] for o in objs if o["kind"] in ("ConfigMap", "Secret")
              and GENERATED_NAME.search(o["metadata"]["name"])}
    out = []
    for obj in objs:
        obj = copy.deepcopy(obj)
        if obj["metadata"]["name"] in hashed:
            obj["metadata"]["name"] = GENERATED_NAME.sub("", obj["metadata"]["name"])
        for spec in pod_specs(obj):
            for c in spec["containers"]:
                refs = [ref for source in c.get("envFrom", []) for ref in source.values()]
                refs += [ref for var in c.get("env", [])
                         for ref in var.get("valueFrom", {}).values()]
                for ref in refs:
                    if ref.get("name") in hashed:
                        ref["name"] = GENERATED_NAME.sub("", ref["name"])
        out.append(obj)
    return sorted(out, key=lambda o: (o["kind"], o["metadata"]["name"]))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("which", ["base", "production"])
def test_the_renderer_agrees_with_kubectl_kustomize_where_kubectl_exists(which, tmp_path):
    """Where kubectl is installed (its kustomize works offline on local files), it renders the
    same objects but for the generated names' hash letters. The overlay is rendered from a copy
    whose secrets/*.env are the examples."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    for example in (tree / "overlays" / "production" / "secrets").glob("*.env.example"):
        shutil.copy(example, example.with_name(example.name.removesuffix(".example")))
    folder = tree / "base" if which == "base" else tree / "overlays" / "production"
    result = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    theirs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert without_hash_suffixes(theirs) == without_hash_suffixes(rendered(which))


# --- schemas -----------------------------------------------------------------------------------
@functools.cache
def crd_schema(api_version: str, kind: str):
    path = SCHEMAS / f"{api_version.split('/')[0]}_{kind}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def is_builtin(obj: dict) -> bool:
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return group == "" or group.endswith(".k8s.io") or group in (
        "apps", "policy", "autoscaling", "batch")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_objects_are_valid_kubernetes(version):
    errors = []
    for which in ("base", "production"):
        for obj in rendered(which):
            if not is_builtin(obj):
                continue
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                errors.append(f"{which} {obj['kind']}/{obj['metadata']['name']}: {path}: "
                              f"{e.message}")
    assert not errors, "\n".join(errors)


def test_custom_resources_are_valid_for_their_operators():
    errors = []
    for obj in rendered("production"):
        if is_builtin(obj):
            continue
        validator = crd_schema(obj["apiVersion"], obj["kind"])
        assert validator, f"no schema in tests/deploy_schemas for {obj['apiVersion']} {obj['kind']}"
        for e in validator.iter_errors(obj):
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {e.message}")
    assert not errors, "\n".join(errors)


def test_each_crd_schema_names_its_source():
    for path in SCHEMAS.glob("*.json"):
        comment = json.loads(path.read_text())["$comment"]
        assert re.search(r"Read from \S+\.yaml of \S+ v\d+\.\d+\.\d+", comment), path.name


# --- workloads ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_runs_its_module_from_the_one_image(name):
    c = container(name)
    module = "gateway.service" if name == "gateway" else f"services.{name}.service"
    assert c["command"] == ["nameko", "run", "--config", "deploy/config.yaml", module]
    assert c["image"] == IMAGE
    assert deployment(name)["spec"]["replicas"] == 2


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_is_locked_down_and_bounded(name):
    spec = deployment(name)["spec"]["template"]["spec"]
    c = container(name)
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 10001
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    security = c["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    (tmp,) = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]
    assert config_data()["DATA_DIR"].startswith("/tmp/")
    for bound in ("requests", "limits"):
        assert set(c["resources"][bound]) == {"cpu", "memory"}
    assert spec["terminationGracePeriodSeconds"] >= 30
    assert spec["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_has_probes_on_its_declared_ports(name):
    c = container(name)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["port"] in ports, f"{probe} on an undeclared port {get['port']}"
        paths[probe] = get["path"]
    if name == "gateway":
        # ready = its own broker connection, never "every service": one service down must not
        # take every gateway out of the Service
        assert ports == {"http": 8000, "metrics": HEALTH_PORT}
        assert paths == {"startupProbe": "/health", "readinessProbe": "/health/ready",
                         "livenessProbe": "/health"}
        assert c["readinessProbe"]["httpGet"]["port"] == "metrics"
        assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    else:
        assert ports == {"metrics": HEALTH_PORT}
        env = {v["name"]: v.get("value") for v in c["env"]}
        assert env["HEALTH_PORT"] == str(HEALTH_PORT)
        assert paths == {"startupProbe": "/health/live", "readinessProbe": "/health/ready",
                         "livenessProbe": "/health/live"}
    # a broker outage (readiness fails) must not restart the pods: liveness gives a minute
    live = c["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 60


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_gets_its_settings_and_only_its_secrets(name):
    c = container(name)
    (source,) = c["envFrom"]
    (config,) = objects("ConfigMap")
    assert source == {"configMapRef": {"name": config["metadata"]["name"]}}
    known = dict(config["data"])
    present = secrets()
    from_secrets = {}
    for var in c["env"]:
        for ref in re.findall(r"\$\((\w+)\)", var.get("value", "")):
            assert ref in known, f"{var['name']} uses $({ref}) before it is defined"
        known[var["name"]] = var.get("value", "")
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret = original_name({"metadata": ref})
            from_secrets[var["name"]] = (secret, ref["key"])
            keys = OPERATOR_SECRETS.get(secret) or set(present.get(secret, {}))
            assert ref["key"] in keys, f"{name}: Secret {secret} has no key {ref['key']}"
    assert from_secrets == SECRET_ENV[name]
    urls = {k: v for k, v in known.items() if k.endswith("_DATABASE_URL")}
    if name == "gateway":
        assert urls == {}
    else:
        assert urls == {f"{name.upper()}_DATABASE_URL":
                        f"postgresql://{name}:$(DB_PASSWORD)@$(DATABASE_HOST):5432/{name}"}


def test_the_database_urls_go_through_the_pooler():
    pooler_host = config_data()["DATABASE_HOST"]
    (pooler,) = objects("Pooler")
    assert pooler_host == f"{pooler['metadata']['name']}.{pooler['metadata']['namespace']}.svc"
    (base_config,) = objects("ConfigMap", "base")
    assert base_config["data"]["DATABASE_HOST"] == pooler["metadata"]["name"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_has_exactly_one_disruption_budget(name):
    labels = deployment(name)["spec"]["template"]["metadata"]["labels"]
    budgets = [p for p in objects("PodDisruptionBudget") if selects(p["spec"]["selector"], labels)]
    assert len(budgets) == 1
    assert budgets[0]["spec"].get("maxUnavailable") == 1 or budgets[0]["spec"].get(
        "minAvailable") == 1


def test_deployment_selectors_match_their_pods():
    for d in objects("Deployment"):
        assert selects(d["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])


# --- autoscaling -------------------------------------------------------------------------------
def nameko_service_name(name: str) -> str:
    source = (ROOT / "services" / name / "service.py").read_text()
    (declared,) = re.findall(r'^\s+name = "([a-z_]+)"$', source, re.MULTILINE)
    return declared


@pytest.mark.parametrize("name", SERVICES)
def test_keda_scales_each_service_on_its_nameko_rpc_queue(name):
    from nameko.rpc import RPC_QUEUE_TEMPLATE

    scaled = [s for s in objects("ScaledObject")
              if s["spec"]["scaleTargetRef"]["name"] == f"portal-{name}"]
    assert len(scaled) == 1
    spec = scaled[0]["spec"]
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    assert spec["minReplicaCount"] >= 2
    assert spec["maxReplicaCount"] > spec["minReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert trigger["metadata"]["queueName"] == RPC_QUEUE_TEMPLATE.format(nameko_service_name(name))
    auth = by_name("TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in OPERATOR_SECRETS[ref["name"]]
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {"host"}


def test_the_gateway_scales_on_cpu_and_nothing_is_scaled_twice():
    (hpa,) = objects("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "portal-gateway"
    assert hpa["spec"]["minReplicas"] == 2
    targets = [hpa["spec"]["scaleTargetRef"]["name"]] + [
        s["spec"]["scaleTargetRef"]["name"] for s in objects("ScaledObject")]
    assert sorted(targets) == sorted(f"portal-{n}" for n in WORKLOADS)


# --- services and monitoring -------------------------------------------------------------------
def test_services_select_pods_and_ports_that_exist():
    deployments = objects("Deployment")
    for service in objects("Service"):
        matching = [d for d in deployments
                    if selects({"matchLabels": service["spec"]["selector"]},
                               d["spec"]["template"]["metadata"]["labels"])]
        assert len(matching) == 1, service["metadata"]["name"]
        (c,) = matching[0]["spec"]["template"]["spec"]["containers"]
        ports = {p["name"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports


def test_prometheus_scrapes_every_workload_with_their_own_service_label():
    monitors = by_name("ServiceMonitor")
    scraped = set()
    for service in objects("Service"):
        for monitor in monitors.values():
            if selects(monitor["spec"]["selector"], service["metadata"]["labels"]):
                for endpoint in monitor["spec"]["endpoints"]:
                    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
                    assert endpoint["path"] == "/metrics"
                    assert endpoint["honorLabels"] is True  # keep the metrics' `service` label
                    scraped.add(service["metadata"]["name"])
    assert scraped == {f"portal-{n}" for n in WORKLOADS}
    # the up{job=…} of ServiceDown: a ServiceMonitor's job is the Kubernetes Service's name
    rabbit = monitors["portal-rabbitmq"]["spec"]
    assert rabbit["selector"]["matchLabels"]["app.kubernetes.io/name"] == "portal-rabbitmq"
    detailed = [e for e in rabbit["endpoints"] if e["path"] == "/metrics/detailed"]
    assert detailed and set(detailed[0]["params"]["family"]) >= {"queue_coarse_metrics",
                                                                  "queue_consumer_count"}


def test_network_policies_select_existing_pods():
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in objects("Deployment")]
    for policy in objects("NetworkPolicy"):
        assert any(selects(policy["spec"]["podSelector"], labels) for labels in pods)


# --- broker and database -----------------------------------------------------------------------
def test_the_broker_is_a_three_node_cluster():
    (rabbit,) = objects("RabbitmqCluster")
    assert rabbit["metadata"]["name"] == "portal-rabbitmq"  # the operator's Secret and Service
    assert rabbit["spec"]["replicas"] == 3
    assert set(rabbit["spec"]["resources"]) == {"requests", "limits"}


def test_the_database_has_one_database_and_role_per_service():
    (cluster,) = objects("Cluster")
    spec = cluster["spec"]
    assert spec["instances"] == 3
    roles = {r["name"]: r for r in spec["managed"]["roles"]}
    assert set(roles) == set(SERVICES)
    present = secrets()
    for name, role in roles.items():
        assert role["login"] is True and role["ensure"] == "present"
        secret_name = role["passwordSecret"]["name"]
        # referenced by name from the Cluster: the generated Secret must keep its name
        (secret,) = [s for s in objects("Secret") if s["metadata"]["name"] == secret_name]
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert secret["metadata"]["labels"]["cnpg.io/reload"] == "true"
        assert present[secret_name]["username"] == name
        assert set(present[secret_name]) == {"username", "password"}
    databases = {d["spec"]["name"]: d["spec"] for d in objects("Database")}
    assert set(databases) == set(SERVICES)
    for name, db in databases.items():
        assert db["owner"] == name
        assert db["cluster"]["name"] == cluster["metadata"]["name"]


def test_the_pooler_is_transaction_mode_with_room_for_every_process():
    (cluster,) = objects("Cluster")
    (pooler,) = objects("Pooler")
    spec = pooler["spec"]
    assert spec["cluster"]["name"] == cluster["metadata"]["name"]
    assert spec["type"] == "rw"
    assert spec["pgbouncer"]["poolMode"] == "transaction"
    parameters = {k: int(v) for k, v in spec["pgbouncer"]["parameters"].items()}
    # each process: DB_POOL_SIZE connections and as many again of overflow (services/common/db.py)
    per_process = 2 * int(config_data()["DB_POOL_SIZE"])
    processes = sum(s["spec"]["maxReplicaCount"] for s in objects("ScaledObject"))
    assert parameters["max_client_conn"] >= processes * per_process
    server_side = len(SERVICES) * (parameters["default_pool_size"]
                                   + parameters.get("reserve_pool_size", 0)) * spec["instances"]
    assert int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]) >= server_side


# --- no secret in the repository ---------------------------------------------------------------
def test_no_secret_value_is_committed():
    for path in K8S.rglob("*"):
        if path.suffix in (".yaml", ".yml"):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "Secret":
                    assert not doc.get("data") and not doc.get("stringData"), path
        if path.name.endswith(".env.example"):
            values = read_env_file(path, example_fallback=False)
            assert values and all(v == "" for v in values.values()), path
    for spec in yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())["secretGenerator"]:
        for literal in spec.get("literals", []):
            assert literal.startswith("username="), f"{spec['name']}: {literal}"
        for env in spec.get("envs", []):
            assert (PRODUCTION / f"{env}.example").exists(), env
    ignored = (PRODUCTION / "secrets" / ".gitignore").read_text().split()
    assert "*.env" in ignored
    if (ROOT / ".git").exists() and shutil.which("git"):
        tracked = subprocess.run(["git", "ls-files", "deploy/k8s"], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split()
        assert not [t for t in tracked if "/secrets/" in t and t.endswith(".env")]


def test_the_overlay_needs_the_real_secret_files():
    missing = [p for p in (PRODUCTION / "secrets").glob("*.env.example")
               if not p.with_name(p.name.removesuffix(".example")).exists()]
    if missing:
        with pytest.raises(KustomizeError, match="is missing"):
            build(PRODUCTION, example_fallback=False)


# --- alert rules and dashboard -----------------------------------------------------------------
def metric_names(expr: str) -> set:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word = match.group(0)
        rest = expr[match.end():].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_WORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or expr[match.start() - 1:match.start()] == "$":
            continue
        names.add(word)
    return names


def known_metric(name: str) -> bool:
    base = re.sub(r"_(bucket|count|sum)$", "", name)
    if base in PORTAL_METRICS:
        return base == name or PORTAL_METRICS[base] == "histogram"
    return name in PORTAL_METRICS or name in RABBITMQ_METRICS or name in OTHER_METRICS


def test_the_metric_name_parser():
    assert metric_names('sum by (service) (rate(portal_x_total{a="b(c)"}[5m])) / on() up > 0.5'
                        ) == {"portal_x_total", "up"}
    assert not known_metric("portal_outbox_backlog_count")
    assert known_metric("portal_rpc_duration_seconds_bucket")


def alert_rules() -> list:
    return [rule for group in yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())["groups"]
            for rule in group["rules"]]


def test_every_alert_is_actionable_and_reads_exported_metrics():
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "OutboxStuck", "OutboxFailing", "QueueGrowing", "NoConsumers", "DeadLetters",
        "HighErrorRate", "HighEntrypointErrorRate", "RpcTimeouts", "BrokerDisconnected",
        "TimerNotRunning", "ServiceDown"}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}
        assert all(len(v) > 20 for v in rule["annotations"].values())
        used = metric_names(rule["expr"])
        assert used and all(known_metric(m) for m in used), (rule["alert"], used)


def test_the_prometheus_rule_is_the_rules_file():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_rules", OBSERVABILITY / "sync_rules.py")
    sync_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_rules)
    on_disk = (BASE / "prometheus-rule.yaml").read_text()
    assert on_disk == sync_rules.render(), "run deploy/observability/sync_rules.py"
    (rule,) = objects("PrometheusRule")
    plain = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == plain["groups"]


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool (Debian package prometheus) is not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(["promtool", "check", "rules", str(OBSERVABILITY / "alerts.yaml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def dashboard_targets(dashboard: dict):
    for panel in dashboard["panels"]:
        for inner in [panel] + panel.get("panels", []):
            for target in inner.get("targets", []):
                yield inner, target


def test_the_dashboard_uses_the_input_datasource_and_exported_metrics():
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    used = set()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel, target in dashboard_targets(dashboard):
        if panel.get("type") == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        names = metric_names(target["expr"])
        assert names and all(known_metric(n) for n in names), (panel["title"], names)
        used |= {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}
    assert set(PORTAL_METRICS) <= used, f"not on the dashboard: {set(PORTAL_METRICS) - used}"


# --- docker compose ----------------------------------------------------------------------------
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_the_same_topology():
    services = compose()["services"]
    images = set()
    for name in WORKLOADS:
        service = services[name]
        images.add(service["image"])
        assert service["healthcheck"]["test"], name
        env = service["environment"]
        if name == "gateway":
            assert "/ready" in " ".join(service["healthcheck"]["test"])
            continue
        assert service["command"] == ["nameko", "run", "--config", "deploy/config.yaml",
                                      f"services.{name}.service"]
        assert service["deploy"]["replicas"] == 2
        assert str(env["HEALTH_PORT"]) == str(HEALTH_PORT)
        assert "/health/ready" in " ".join(service["healthcheck"]["test"])
        url = env[f"{name.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql://{name}:\$\{{[A-Z_]+:\?[^}}]+\}}@pgbouncer:5432/{name}",
                            url), url
        assert "ports" not in service  # replicas cannot share a host port
    assert len(images) == 1
    for name, service in services.items():
        assert service.get("healthcheck"), f"{name} has no healthcheck"
    pgbouncer = services["pgbouncer"]
    assert pgbouncer["environment"]["POOL_MODE"] == "transaction"


def test_compose_observability_profile_loads_the_rules_and_the_dashboard():
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "./observability/alerts.yaml" in mounts
    assert "./observability/prometheus.yml" in mounts
    assert "./observability/grafana-dashboard.json" in " ".join(services["grafana"]["volumes"])
    scrape = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert set(jobs) >= {f"portal-{n}" for n in WORKLOADS} | {"portal-rabbitmq"}
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yaml"]
