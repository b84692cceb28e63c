"""The alert rules: valid (`promtool check rules`), each firing where it should and quiet
where it should not (`promtool test rules`), the PrometheusRule the same rules, and the
tests able to fail: the platform guide's p95 rule, as the guide writes it, fails them."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent.parent
MONITORING = ROOT / "k8s" / "monitoring"
PROMTOOL = str(ROOT / ".tools" / "bin" / "promtool")  # .ci/setup extracts it


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_rules_are_valid_and_their_unit_tests_pass() -> None:
    checked = promtool("check", "rules", "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "13 rules found" in checked.stdout
    tested = promtool("test", "rules", "rules-test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_prometheus_rule_holds_the_same_groups() -> None:
    plain = yaml.safe_load((MONITORING / "rules.yaml").read_text())
    operator = yaml.safe_load((MONITORING / "prometheus-rule.yaml").read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"] == plain


def test_the_guides_p95_rule_fails_the_unit_tests(tmp_path: Path) -> None:
    for name in ("rules.yaml", "rules-test.yaml"):
        shutil.copy(MONITORING / name, tmp_path / name)
    rules = tmp_path / "rules.yaml"
    fixed = ('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket'
             '{route!="/media/{path}"}[5m]))) > 0.2')  # fmt: skip
    guide = "histogram_quantile(0.95, http_request_duration_seconds_bucket) > 0.2"
    assert fixed in rules.read_text()
    rules.write_text(rules.read_text().replace(fixed, guide))
    tested = promtool("test", "rules", "rules-test.yaml", cwd=tmp_path)
    output = tested.stdout + tested.stderr
    assert tested.returncode != 0 and "HighResponseTime" in output, output
