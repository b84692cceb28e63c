"""The deployment files, validated offline as CI runs them: every built-in Kubernetes
resource in k8s/ against Kubernetes 1.33's schemas in strict mode (kubernetes-validate),
the KEDA, Prometheus Operator and Istio resources against their CRDs' schemas
(kubernetes-models, npm), compose.yaml against the Compose specification's schema
(check-jsonschema); and each check shown to fail on a broken file."""

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).parent.parent.parent
K8S = ROOT / "k8s"
KUBERNETES = "1.33.0"
CRD_DRIVER = Path(__file__).parent / "crds" / "validate.mjs"
CUSTOM = ("keda.sh/", "monitoring.coreos.com/", "networking.istio.io/")
NOT_RESOURCES = {"rules.yaml", "rules-test.yaml"}  # Prometheus's own formats (test_alerts)


def resources() -> list[dict[str, Any]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name not in NOT_RESOURCES:
            found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def is_custom(resource: dict[str, Any]) -> bool:
    return str(resource["apiVersion"]).startswith(CUSTOM)


def validate_builtin(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def validate_custom(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(["node", str(CRD_DRIVER)], input=json.dumps(items),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.stdout, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    checker = shutil.which("check-jsonschema", path=str(Path(ROOT / ".venv" / "bin")))
    assert checker, "check-jsonschema is in the test extras"
    return subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_every_builtin_resource_is_valid_for_kubernetes_in_strict_mode() -> None:
    builtin = [r for r in resources() if not is_custom(r)]
    kinds = {r["kind"] for r in builtin}
    assert {"Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "Namespace"} <= kinds  # fmt: skip
    for resource in builtin:
        validate_builtin(resource)


def test_every_custom_resource_is_valid_for_its_crd() -> None:
    custom = [r for r in resources() if is_custom(r)]
    assert {r["kind"] for r in custom} == {"ScaledObject", "PodMonitor", "PrometheusRule",
                                          "DestinationRule"}  # fmt: skip
    results = validate_custom(custom)
    assert len(results) == len(custom)
    assert all(r["error"] is None for r in results), results


def test_compose_is_valid_for_the_compose_specification() -> None:
    checked = check_compose(ROOT / "compose.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def by_kind(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in resources() if r["kind"] == kind))


@pytest.mark.parametrize("breakage", ["a string for replicas", "an unknown field"])
def test_a_broken_deployment_is_refused(breakage: str) -> None:
    broken = by_kind("Deployment")
    if breakage == "a string for replicas":
        broken["spec"]["replicas"] = "two"
    else:
        broken["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin(broken)


def test_broken_custom_resources_are_refused() -> None:
    scaled = by_kind("ScaledObject")
    scaled["spec"]["minReplicaCount"] = "one"
    rule = by_kind("PrometheusRule")
    rule["spec"]["groups"] = "all of them"
    destination = by_kind("DestinationRule")
    destination["spec"]["trafficPolicy"]["loadBalancer"]["simple"] = 7
    results = validate_custom([scaled, rule, destination])
    assert all(r["error"] for r in results), results


def test_a_broken_compose_file_is_refused(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    compose["services"]["api"]["ports"] = "8080"
    compose["servces"] = {}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(compose))
    assert check_compose(broken).returncode != 0
