from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "dashboard.sandbox"
    label = "sandbox"
    verbose_name = "Live API sandbox"

    def ready(self):
        from django.conf import settings

        if settings.DEMO_RECEIVER:
            # `make run`: the demo domains' callback hosts reach the small local receiver
            # (receivers/demo.py), over http and https, instead of the made-up hosts
            from .demo import DEMO_CALLBACK_HOSTS

            for host in DEMO_CALLBACK_HOSTS:
                settings.CALLBACK_PINNED_HOSTS.setdefault(host, settings.DEMO_RECEIVER_ADDR)
                settings.CALLBACK_PINNED_TLS_HOSTS.setdefault(host, settings.DEMO_RECEIVER_TLS_ADDR)
            settings.CALLBACK_PINNED_CA = str(settings.DEMO_TLS_DIR / "ca.pem")
