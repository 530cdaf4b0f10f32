"""``imagegate policy check``: manifests judged offline, as admission would."""

from __future__ import annotations

from pathlib import Path

from support.processes import run_cli

PINNED = "ghcr.io/acme/web:1.4@sha256:" + "ab" * 32
MANIFESTS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: app, image: "{PINNED}"}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: shop}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: report, image: "docker.io/library/busybox:latest"}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: shop}}
data: {{colour: blue}}
"""
POLICY = """
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {name: production-images}
spec:
  mode: enforce
  match: {logicalEnvironments: [production]}
  rules:
    - rule: allowed-registries
      patterns: ["ghcr.io/acme/**"]
    - rule: no-latest
    - rule: scanned
      maxAge: 7d
"""


def write(tmp_path: Path, manifests: str = MANIFESTS, policy: str = POLICY) -> tuple[Path, Path]:
    manifest_dir = tmp_path / "manifests"
    manifest_dir.mkdir()
    (manifest_dir / "app.yaml").write_text(manifests)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy)
    return manifest_dir, policy_file


def test_violations_fail_the_check_with_admission_messages(tmp_path: Path) -> None:
    manifests, policy = write(tmp_path)
    result = run_cli(["policy", "check", "-f", str(manifests), "--policy", str(policy)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("OK   Deployment shop/web  (")
    assert lines[1] == (
        "  not checked offline (need registry or evidence facts): production-images/scanned"
    )
    assert lines[2].startswith("DENY CronJob shop/report  (")
    assert (
        "  enforce: [production-images/allowed-registries] container 'report' image "
        "'docker.io/library/busybox:latest': repository docker.io/library/busybox is not in "
        "the allowed registries (ghcr.io/acme/**)"
    ) in result.stdout
    assert "[production-images/no-latest] container 'report'" in result.stdout
    assert "[default/digest-pinned] container 'report'" in result.stdout
    assert lines[-1] == "2 workloads: 1 denied, 0 with warnings"


def test_a_policy_for_another_environment_does_not_apply(tmp_path: Path) -> None:
    manifests, policy = write(tmp_path)
    result = run_cli(
        [
            "policy",
            "check",
            "-f",
            str(manifests),
            "--policy",
            str(policy),
            "--logical-env",
            "development",
            "--require-digest",
            "audit",
        ]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "WARN CronJob shop/report" in result.stdout
    assert "  audit: [default/digest-pinned]" in result.stdout
    assert "production-images" not in result.stdout


def test_an_invalid_policy_is_reported_with_file_and_path(tmp_path: Path) -> None:
    manifests, policy = write(tmp_path, policy=POLICY.replace("patterns:", "patternz:"))
    result = run_cli(["policy", "check", "-f", str(manifests), "--policy", str(policy)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"imagegate: error: {policy}: document 1: spec.rules[0]")
    assert "patternz" in result.stderr


def test_an_invalid_manifest_is_reported_with_its_place(tmp_path: Path) -> None:
    manifests, policy = write(tmp_path, manifests="kind: Deployment\n  bad: [indent\n")
    result = run_cli(["policy", "check", "-f", str(manifests), "--policy", str(policy)])
    assert result.exit_code == 1
    assert "app.yaml: is not valid YAML (line 2, column 6): " in result.stderr
