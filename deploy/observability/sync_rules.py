"""Writes deploy/k8s/base/prometheus-rule.yaml: the groups of alerts.yaml as a PrometheusRule.

alerts.yaml (this folder) is the one source of the alert rules: Prometheus loads it as it is
(docker compose's observability profile does), and the prometheus-operator gets the same groups
as a PrometheusRule in the Kubernetes base. Run after any change to alerts.yaml:

    .venv/bin/python deploy/observability/sync_rules.py

tests/unit/test_deploy_manifests.py fails while the two differ.
"""

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "alerts.yaml"
TARGET = HERE.parent / "k8s" / "base" / "prometheus-rule.yaml"
HEADER = """\
# GENERATED from deploy/observability/alerts.yaml by deploy/observability/sync_rules.py: edit
# that file and run the script (tests/unit/test_deploy_manifests.py checks they are the same).
# The prometheus-operator loads it if its Prometheus' ruleSelector matches these labels: add
# the label your Prometheus selects on (e.g. release: <name>) in your overlay.
"""


def prometheus_rule(groups: list) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "portal-alerts", "labels": {"role": "alert-rules"}},
        "spec": {"groups": groups},
    }


def render() -> str:
    groups = yaml.safe_load(SOURCE.read_text())["groups"]
    body = yaml.safe_dump(prometheus_rule(groups), sort_keys=False, width=10000,
                          allow_unicode=True)
    return HEADER + body


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
