"""The sandbox's state: one emulated Alibaba Cloud account's Live domains and callbacks."""

from __future__ import annotations

from django.db import models


class SandboxDomain(models.Model):
    name = models.CharField(max_length=253, unique=True)
    domain_type = models.CharField(max_length=16, default="liveVideo")
    status = models.CharField(max_length=16, default="online")
    region = models.CharField(max_length=32, default="cn-shanghai")
    cname = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=200, blank=True)
    resource_group_id = models.CharField(max_length=64, default="rg-acfmsandbox0001")
    created = models.DateTimeField()
    modified = models.DateTimeField()
    # Records per hour the sandbox's traffic generator produces for this domain.
    records_per_hour = models.PositiveIntegerField(default=0)
    failure_percent = models.PositiveSmallIntegerField(default=8)
    # A receiver fault (`sandbox_callbacks --cause`): every failure says this, e.g. "HTTP 503".
    failure_cause = models.CharField(max_length=200, blank=True)
    records_generated_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SandboxDomainTag(models.Model):
    domain = models.ForeignKey(SandboxDomain, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=128, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "key"], name="sbx_tag_one_value_per_key")
        ]


class SandboxRecordConfig(models.Model):
    domain = models.OneToOneField(SandboxDomain, on_delete=models.CASCADE, related_name="record")
    notify_url = models.CharField(max_length=1024)
    on_demand_url = models.CharField(max_length=1024, blank=True)
    need_status_notify = models.BooleanField(default=False)
    notify_req_auth = models.BooleanField(default=False)
    notify_auth_key = models.CharField(max_length=32, blank=True)


class SandboxSnapshotConfig(models.Model):
    domain = models.OneToOneField(SandboxDomain, on_delete=models.CASCADE, related_name="snapshot")
    notify_url = models.CharField(max_length=500)
    notify_req_auth = models.BooleanField(default=False)
    notify_auth_key = models.CharField(max_length=32, blank=True)


class SandboxStreamConfig(models.Model):
    """An ingest domain's stream callback (publish / publish_done, exceptions)."""

    domain = models.OneToOneField(SandboxDomain, on_delete=models.CASCADE, related_name="streams")
    notify_url = models.CharField(max_length=1024, blank=True)
    exception_notify_url = models.CharField(max_length=1024, blank=True)
    switch_notify_url = models.CharField(max_length=1024, blank=True)
    notify_req_auth = models.BooleanField(default=False)
    notify_auth_key = models.CharField(max_length=64, blank=True)


class SandboxNotifyRecord(models.Model):
    domain_name = models.CharField(max_length=253)
    app_name = models.CharField(max_length=128)
    stream_name = models.CharField(max_length=128)
    notify_type = models.CharField(max_length=40)
    notify_url = models.CharField(max_length=1024)
    notify_content = models.TextField()
    notify_header = models.TextField(blank=True)
    notify_response = models.TextField(blank=True)
    notify_result = models.CharField(max_length=8)
    notify_time = models.DateTimeField()
    description = models.CharField(max_length=300)
    storage_type = models.CharField(max_length=8, default="oss")

    class Meta:
        indexes = [
            models.Index(fields=["domain_name", "notify_time"], name="sbx_rec_time"),
            models.Index(
                fields=["domain_name", "notify_result", "notify_time"], name="sbx_rec_result"
            ),
            models.Index(
                fields=["domain_name", "app_name", "stream_name", "notify_time"],
                name="sbx_rec_stream",
            ),
        ]
