"""Static checks of everything under deploy/: Kubernetes, compose, Prometheus, Dockerfiles.

* Every Kubernetes object validates against the Kubernetes OpenAPI schema (strict: unknown
  fields are errors) with ``kubernetes-validate``, which bundles the schemas and runs offline.
  The PodMonitor (a Prometheus Operator CRD, not in that schema) is checked field by field.
* Cross-references a schema cannot see: every image is one this project builds (a Dockerfile
  here) or a pinned third-party image; every port a Service, probe or scrape names is one a
  container really listens on (taken from its zkprover flags); selectors match pod labels;
  ConfigMaps, Secrets and PVCs referenced exist; ``$(VAR)`` in args is defined.
* Every zkprover command line in the manifests and the compose file parses with the real
  ``zkprover`` argument parser, so a renamed flag fails here rather than in a crash-looping pod.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
DOCKER = DEPLOY / "docker"
K8S_VERSION = "1.30"  # the oldest release still in the main clouds' standard support

#: zkprover image tags -> (Dockerfile, pip extra that tag's CuPy comes from)
PROJECT_IMAGES = {
    "cpu": ("Dockerfile.cpu", None),
    "cuda12": ("Dockerfile.cuda", "gpu-cuda12"),
    "cuda13": ("Dockerfile.cuda", "gpu-cuda13"),
}
#: third-party images the deployment uses, by repository; the tag must be pinned
THIRD_PARTY = {"postgres", "prom/prometheus", "grafana/grafana"}


# --- loading ------------------------------------------------------------------------------------
def k8s_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> list[tuple[Path, dict]]:
    out = []
    for path in k8s_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path, doc))
    return out


def pod_specs() -> list[tuple[str, dict, dict]]:
    """(object name, pod template metadata, pod spec) of every workload."""
    out = []
    for _, obj in k8s_objects():
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            tpl = obj["spec"]["template"]
            out.append((obj["metadata"]["name"], tpl["metadata"], tpl["spec"]))
    return out


_ENV_DEFAULT = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")


def compose_env_defaults() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "compose" / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """docker compose's ${VAR}, ${VAR:-default}, ${VAR:?error} with env.example's values."""

    def sub(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None and "?" not in m.group(0).split(name, 1)[1][:2]:
            return default
        raise AssertionError(f"compose variable ${{{name}}} has no default and is not in env.example")

    return _ENV_DEFAULT.sub(sub, text)


def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), compose_env_defaults()))


def dockerfile(name: str) -> list[str]:
    """Instructions of a Dockerfile, continuation lines joined, comments dropped."""
    lines, cur = [], ""
    for raw in (DOCKER / name).read_text().splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        cur += " " + s.rstrip("\\").strip() if cur else s.rstrip("\\").strip()
        if not s.endswith("\\"):
            lines.append(cur)
            cur = ""
    return lines


def zkprover_args(argv: list[str]) -> object:
    """Parse a zkprover command line with the real parser (SystemExit on an unknown flag)."""
    from prover.cli import build_parser

    return build_parser().parse_args(argv)


# --- Kubernetes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_k8s_objects_validate_against_the_schema(path):
    import kubernetes_validate

    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            check_podmonitor(doc)
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_bad_object():
    """The schema check has teeth: an unknown field and a wrong type are both errors."""
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError

    obj = next(o for _, o in k8s_objects() if o["kind"] == "Deployment")
    bad = json.loads(json.dumps(obj))
    bad["spec"]["template"]["spec"]["containers"][0]["port"] = 50051
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    bad = json.loads(json.dumps(obj))
    bad["spec"]["replicas"] = "two"
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def check_podmonitor(doc: dict) -> None:
    assert doc["kind"] in ("PodMonitor", "ServiceMonitor")
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(doc) <= {"apiVersion", "kind", "metadata", "spec"}
    spec = doc["spec"]
    assert set(spec) <= {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"}
    labels = spec["selector"]["matchLabels"]
    ports = {p["name"] for _, meta, pod in pod_specs() if _matches(labels, meta) for c in pod["containers"]
             for p in c.get("ports", [])}  # fmt: skip
    assert ports, f"{doc['metadata']['name']}: selector {labels} matches no pod with ports"
    for ep in spec["podMetricsEndpoints"]:
        assert set(ep) <= {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings"}
        assert ep["port"] in ports, f"PodMonitor port {ep['port']!r} is not a container port name"
        assert ep.get("path", "/metrics") == "/metrics"


def test_kustomization_lists_every_core_manifest():
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = {K8S / r for r in kust["resources"]}
    core = {p for p in k8s_files() if p.parent == K8S}
    assert listed == core, f"kustomization.yaml resources differ from the files: {listed ^ core}"
    assert {i["name"] for i in kust["images"]} == {"zkprover"}


def _matches(selector: dict, meta: dict) -> bool:
    labels = meta.get("labels", {})
    return all(labels.get(k) == v for k, v in selector.items())


def _image_ok(image: str) -> None:
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest", f"image {image!r}: pin a tag"
    if repo == "zkprover":
        assert tag in PROJECT_IMAGES, f"image {image!r}: no Dockerfile in deploy/docker builds this tag"
        dockerfile_name, extra = PROJECT_IMAGES[tag]
        assert (DOCKER / dockerfile_name).is_file()
        if extra:
            pyproject = (ROOT / "pyproject.toml").read_text()
            assert re.search(rf"^{re.escape(extra)}\s*=", pyproject, re.M), f"extra {extra} missing"
    else:
        assert repo in THIRD_PARTY, f"image {image!r} is neither built here nor a known third-party image"


def _listen_ports(argv: list[str]) -> dict[str, int]:
    """Ports a zkprover container listens on, from its parsed flags."""
    args = zkprover_args(argv)
    ports = {}
    if getattr(args, "listen", None):
        ports["grpc"] = int(args.listen.rsplit(":", 1)[1])
    if getattr(args, "metrics_port", None) is not None:
        ports["metrics"] = args.metrics_port
    return ports


def _expand(arg: str, env: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        assert m.group(1) in env, f"$({m.group(1)}) is not defined by the ConfigMap or env"
        return env[m.group(1)]

    return re.sub(r"\$\(([A-Z0-9_]+)\)", sub, arg)


def _exec_probe_ok(where: str, command: list[str], served: object, listening: dict[str, int]) -> None:
    """An exec probe runs healthcheck.py against the port served, over TLS when it is TLS."""
    assert any(c.endswith("healthcheck.py") for c in command), f"{where}: exec probe is not healthcheck.py"
    opts = dict(itertools.pairwise(command))
    assert opts["--grpc"].rsplit(":", 1)[1] == str(listening["grpc"]), f"{where}: probes another port"
    if getattr(served, "tls_cert", None):
        assert "--tls-ca" in opts, f"{where}: the server speaks TLS, the probe must too"


def _exposed_safely(where: str, args: object) -> None:
    """A server listening beyond loopback has TLS and tokens (else it refuses to start)."""
    from prover.service.server import is_loopback

    if getattr(args, "verb", None) != "serve" or is_loopback(args.listen):
        return
    assert args.tls_cert and args.tls_key and args.tokens_file and not args.allow_insecure, (
        f"{where}: serves {args.listen} without TLS and tokens"
    )


def test_k8s_cross_references():
    objs = [o for _, o in k8s_objects()]
    by_kind: dict[str, dict[str, dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    config = by_kind["ConfigMap"]["zkprover-config"]["data"]
    namespaces = set(by_kind.get("Namespace", {}))
    for o in objs:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") in namespaces, f"{o['kind']}/{o['metadata']['name']}: namespace"

    for name, meta, pod in pod_specs():
        sc = pod.get("securityContext", {})
        assert sc.get("runAsNonRoot") and sc.get("runAsUser", 0) != 0, f"{name}: must run as non-root"
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in by_kind["PersistentVolumeClaim"]
        for c in pod.get("initContainers", []) + pod["containers"]:
            _image_ok(c["image"])
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in by_kind["ConfigMap"]
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in by_kind["Secret"]
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{name}/{c['name']}: volume {m['name']} not declared"
                if "secret" in volumes[m["name"]]:
                    assert volumes[m["name"]]["secret"]["secretName"] in by_kind["Secret"]
            if "args" not in c:
                continue
            argv = [_expand(a, config) for a in c["args"]]
            listening = _listen_ports(argv)
            _exposed_safely(name, zkprover_args(argv))
            declared = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            assert declared == listening, f"{name}: container ports {declared} != what zkprover listens on {listening}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                spec = c.get(probe)
                if not spec:
                    continue
                if "exec" in spec:  # the image's probe script: a TLS server needs it
                    _exec_probe_ok(f"{name} {probe}", spec["exec"]["command"], zkprover_args(argv), listening)
                    continue
                port = (spec.get("grpc") or spec.get("httpGet") or spec.get("tcpSocket"))["port"]
                assert port in declared or port in declared.values(), f"{name} {probe}: port {port} not served"
                if "grpc" in spec:
                    assert port == listening.get("grpc"), f"{name} {probe}: gRPC probe on a non-gRPC port"
                    assert not getattr(zkprover_args(argv), "tls_cert", None), f"{name}: native gRPC probes lack TLS"
            ann = meta.get("annotations", {})
            if ann.get("prometheus.io/scrape") == "true":
                assert int(ann["prometheus.io/port"]) == listening["metrics"]

    for svc in by_kind["Service"].values():
        pods = [(n, p) for n, meta, p in pod_specs() if _matches(svc["spec"]["selector"], meta)]
        assert pods, f"Service {svc['metadata']['name']} selects no pod"
        for port in svc["spec"]["ports"]:
            for n, p in pods:
                names = {cp["name"] for c in p["containers"] for cp in c.get("ports", [])}
                assert port["targetPort"] in names, f"Service port {port['name']} -> {n}: no {port['targetPort']}"
    for pdb in by_kind["PodDisruptionBudget"].values():
        sel = pdb["spec"]["selector"]["matchLabels"]
        assert any(_matches(sel, meta) for _, meta, _ in pod_specs()), f"PDB {pdb['metadata']['name']} selects none"


def test_k8s_gpu_workers():
    (worker,) = [(n, m, p) for n, m, p in pod_specs() if n == "zkprover-worker"]
    _, _, pod = worker
    (c,) = pod["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] or pod["tolerations"]
    args = zkprover_args(c["args"][:1] + [_expand(a, {"ZKPROVER_BATCH_SIZES": "1", "ZKPROVER_DEPTH": "2"})
                                           for a in c["args"][1:]])  # fmt: skip
    assert args.backend == "gpu"
    # Kubernetes must leave the worker its --grace to finish a proof before SIGKILL
    assert pod["terminationGracePeriodSeconds"] > args.grace
    init = [i["command"] for i in pod["initContainers"]]
    assert any("keycheck.py" in " ".join(cmd) and "--build" not in cmd for cmd in init)
    env = {e["name"]: e["value"] for e in c["env"]}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert env["ZKPROVER_KERNEL_CACHE"] in mounts and env["ZKPROVER_CACHE_DIR"] in mounts


# --- compose ------------------------------------------------------------------------------------
def test_compose_services_images_ports_and_commands():
    doc = compose()
    services = doc["services"]
    assert {"server", "worker-0", "worker-1", "postgres", "prometheus", "grafana"} <= set(services)
    for name, svc in services.items():
        _image_ok(svc["image"])
        if "build" in svc:
            df = ROOT / "deploy" / "compose" / svc["build"]["context"] / svc["build"]["dockerfile"]
            assert df.resolve().is_file(), f"{name}: {df} missing"
            declared = {line.split()[1].split("=")[0] for line in dockerfile(df.name) if line.startswith("ARG ")}
            assert set(svc["build"].get("args", {})) <= declared, f"{name}: build args not declared in {df.name}"
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (COMPOSE.parent / src).exists(), f"{name}: bind mount {src} missing"
            else:
                assert src in doc["volumes"], f"{name}: volume {src} not declared"
        for dep in svc.get("depends_on", {}):
            assert dep in services
        command = svc.get("command")
        if svc["image"].startswith("zkprover:") and command and "entrypoint" not in svc:
            listening = _listen_ports(list(command))
            _exposed_safely(name, zkprover_args(list(command)))
            for secret in svc.get("secrets", []):
                assert secret in doc["secrets"], f"{name}: secret {secret} not declared"
                assert doc["secrets"][secret]["file"].startswith("./secrets/"), "make-secrets.sh writes ./secrets"
            for mapping in svc.get("ports", []):
                assert int(str(mapping).rsplit(":", 1)[1]) in listening.values(), f"{name}: {mapping}"
            hc = " ".join(svc.get("healthcheck", {}).get("test", []))
            if "--grpc" in hc:
                assert hc.rsplit(":", 1)[1].split()[0] == str(listening["grpc"])
                if zkprover_args(list(command)).tls_cert:
                    assert "--tls-ca" in hc, f"{name}: the server speaks TLS, the health check must too"
            if "--http" in hc:
                assert f":{listening['metrics']}/metrics" in hc
    for w in ("worker-0", "worker-1"):
        svc = services[w]
        (dev,) = svc["deploy"]["resources"]["reservations"]["devices"]
        assert dev["driver"] == "nvidia" and "gpu" in dev["capabilities"]
        args = zkprover_args(list(svc["command"]))
        assert args.verb == "worker"
        stop = svc["stop_grace_period"]
        assert int(stop.rstrip("m")) * 60 > args.grace
    keys = services["keys"]
    assert "keycheck.py" in " ".join(keys["entrypoint"])


def test_prometheus_config_scrapes_every_zkprover_process():
    prom = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    assert set(prom) <= {"global", "scrape_configs", "rule_files", "alerting"}
    jobs = [sc["job_name"] for sc in prom["scrape_configs"]]
    assert len(jobs) == len(set(jobs)), "duplicate job_name"
    services = compose()["services"]
    targets = set()
    for sc in prom["scrape_configs"]:
        assert set(sc) <= {"job_name", "static_configs", "metrics_path", "scrape_interval"}
        for static in sc["static_configs"]:
            for t in static["targets"]:
                host, port = t.rsplit(":", 1)
                targets.add(host)
                if host == "localhost":
                    continue
                svc = services[host]
                assert int(port) == _listen_ports(list(svc["command"]))["metrics"], f"{t}: not the metrics port"
    zk = {n for n, s in services.items() if s["image"].startswith("zkprover:") and "entrypoint" not in s}
    assert zk <= targets, f"not scraped: {zk - targets}"


def test_grafana_provisioning_points_at_the_dashboard():
    doc = compose()
    graf = doc["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in graf["volumes"])
    prov = COMPOSE.parent / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    dash = yaml.safe_load((prov / "dashboards" / "zkprover.yaml").read_text())
    path = dash["providers"][0]["options"]["path"]
    host_files = [k for k, v in mounts.items() if v.startswith(path)]
    assert host_files and all((COMPOSE.parent / f).is_file() for f in host_files)
    json.loads((DEPLOY / "grafana" / "zkprover.json").read_text())


# --- Dockerfiles --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_dockerfile_builds_with_install_sh(name):
    lines = dockerfile(name)
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    runs = [line for line in lines if line.startswith("RUN ")]
    install = [r for r in runs if "deploy/scripts/install.sh" in r]
    assert len(install) == 1 and "ZKPROVER_PORTABLE=1" in install[0]
    assert not any("pip install" in r for r in runs), "install steps belong in install.sh (tested)"
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            *srcs, _dst = shlex.split(line)[1:]
            for s in srcs:
                assert (ROOT / s).exists(), f"{name}: COPY {s}: no such file"
    (user,) = [line for line in lines if line.startswith("USER ")]
    assert not user.split()[1].startswith(("0", "root"))
    (hc,) = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert "healthcheck.py" in hc
    expose = {int(p) for line in lines if line.startswith("EXPOSE ") for p in line.split()[1:]}
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert set(_listen_ports(cmd).values()) == expose
    final = froms[-1]
    if name == "Dockerfile.cuda":
        assert "-devel-" in froms[0] and "-runtime-" in final, "build on devel, run on runtime"
        assert any("/var/cache/zkprover/kernels" in line for line in lines if line.startswith("VOLUME"))
        env = " ".join(line for line in lines if line.startswith("ENV "))
        assert "ZKPROVER_KERNEL_CACHE=/var/cache/zkprover/kernels" in env
        # kernels prebuilt with the devel stage's nvcc: no 100-second first proof
        assert "ZKPROVER_PREBUILD_KERNELS=1" in install[0] and "ZKPROVER_KERNEL_ARCHS" in install[0]
        arg = next(line for line in lines if line.startswith("ARG ZKPROVER_EXTRAS="))
        cuda = next(line for line in lines if line.startswith("ARG CUDA_VERSION="))
        assert arg.split("=")[1] == f"gpu-cuda{cuda.split('=')[1].split('.')[0]}", "CuPy for the CUDA major"


# --- the one L1 operator --------------------------------------------------------------------------
def _k8s_operators(objs: list[dict]) -> list[str]:
    """Names of the workloads running ``serve`` as the L1 operator; AssertionError where one may
    run more than once at a time (only a StatefulSet of one replica may not)."""
    config = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "zkprover-config")["data"]
    found = []
    for o in objs:
        if o["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            continue
        for c in o["spec"]["template"]["spec"]["containers"]:
            if c.get("args", [None])[0] != "serve":
                continue
            args = zkprover_args([_expand(a, config) for a in c["args"]])
            if args.l1_role == "operator":
                where = f"{o['kind']}/{o['metadata']['name']}"
                assert o["kind"] == "StatefulSet" and o["spec"]["replicas"] == 1, f"{where}: more than one operator"
                found.append(o["metadata"]["name"])
            else:  # API replicas sign and prove for the operator's Rollup
                assert "--rollup-address=$(ZKPROVER_ROLLUP_ADDRESS)" in c["args"], c["args"]
                assert "--chain-id=$(ZKPROVER_CHAIN_ID)" in c["args"], c["args"]
    return found


def test_k8s_runs_exactly_one_l1_operator_with_its_key_from_a_secret_file():
    objs = [o for _, o in k8s_objects()]
    assert _k8s_operators(objs) == ["zkprover-operator"]
    (sts,) = [o for o in objs if o["kind"] == "StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    config = next(o for o in objs if o["kind"] == "ConfigMap")["data"]
    key_file = zkprover_args([_expand(a, config) for a in c["args"]]).l1_key_file
    key_dir = str(Path(key_file).parent)
    assert volumes[mounts[key_dir]]["emptyDir"]["medium"] == "Memory"  # the key never touches a disk
    (copy,) = [i for i in pod["initContainers"] if i["name"] == "l1-key"]
    secret_mounts = [m for m in copy["volumeMounts"] if "secret" in volumes[m["name"]]]
    assert secret_mounts and "umask 077" in copy["command"][-1] and key_file in copy["command"][-1]
    secrets = {o["metadata"]["name"] for o in objs if o["kind"] == "Secret"}
    assert volumes[secret_mounts[0]["name"]]["secret"]["secretName"] in secrets
    # the key and the URL stay off argv and out of plain env
    assert not any(a.startswith(("--l1=", "--l1-key=")) for a in c["args"])
    assert all(e["name"] not in ("ZKPROVER_L1_KEY", "ZKPROVER_L1_URL") for e in c.get("env", []))
    assert config["ZKPROVER_L1_URL"] and int(config["ZKPROVER_L1_CONFIRMATIONS"]) > 0


def test_k8s_operator_check_refuses_a_second_operator():
    objs = [copy.deepcopy(o) for _, o in k8s_objects()]
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    sts["spec"]["replicas"] = 2
    with pytest.raises(AssertionError, match="more than one operator"):
        _k8s_operators(objs)
    server = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "zkprover-server")
    server["spec"]["template"]["spec"]["containers"][0]["args"].remove("--l1-role=api")  # the default: operator
    sts["spec"]["replicas"] = 1
    with pytest.raises(AssertionError, match="Deployment/zkprover-server: more than one operator"):
        _k8s_operators(objs)


def test_compose_runs_exactly_one_l1_operator_with_its_key_from_a_secret_file():
    doc = compose()
    services = doc["services"]
    operators = []
    for name, svc in services.items():
        command = svc.get("command")
        if svc["image"].startswith("zkprover:") and command and command[0] == "serve":
            args = zkprover_args(list(command))
            assert args.l1_role == "operator" or args.rollup_address, f"{name}: an API replica needs the Rollup"
            if args.l1_role == "operator":
                operators.append(name)
                assert "replicas" not in svc.get("deploy", {}) and "scale" not in svc, f"{name}: one operator only"
    assert operators == ["server"]
    env = services["server"]["environment"]
    assert "ZKPROVER_L1_KEY" not in env and "ZKPROVER_L1_URL" in env
    key_file = env["ZKPROVER_L1_KEY_FILE"]
    volume = next(v.split(":")[0] for v in services["server"]["volumes"] if key_file.startswith(v.split(":")[1]))
    assert doc["volumes"][volume]["driver_opts"]["type"] == "tmpfs"
    writer = services["l1-key"]
    assert "umask 077" in writer["entrypoint"][-1] and key_file in writer["entrypoint"][-1]
    assert any(v.startswith(f"{volume}:") for v in writer["volumes"])
    assert doc["secrets"][writer["secrets"][0]]["file"] == "./secrets/l1_operator.key"
    assert "l1_operator.key" in (DEPLOY / "scripts" / "make-secrets.sh").read_text()
    assert services["server"]["depends_on"]["l1-key"]["condition"] == "service_completed_successfully"
