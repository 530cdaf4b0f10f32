"""What happens to admissions while imagegate is down, under each failurePolicy."""

from __future__ import annotations

from testbed.controlplane import Cluster

from e2e.webhook import (
    WEBHOOK_NAME,
    WebhookProcess,
    dry_run_tag_only,
    eventually,
    register,
    wait_until_webhook_is_called,
)

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated, namespace: e2e-probe}\n"


def test_fail_refuses_ignore_admits_and_admission_resumes(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    webhook.stop()
    try:
        code, stderr = dry_run_tag_only(cluster)
        assert code != 0
        assert f'failed calling webhook "{WEBHOOK_NAME}"' in stderr
        # Kinds the webhook does not select are not affected by its outage.
        cluster.kubectl("apply", "-f", "-", input_text=CONFIGMAP)

        register(cluster, webhook, failure_policy="Ignore")
        eventually(
            lambda: dry_run_tag_only(cluster)[0] == 0,
            what="failurePolicy Ignore admitting while imagegate is down",
        )
    finally:
        webhook.start()
        register(cluster, webhook, failure_policy="Fail")
    wait_until_webhook_is_called(cluster)
    code, stderr = dry_run_tag_only(cluster)
    assert code != 0
    assert "imagegate denied Deployment e2e-probe/probe" in stderr
