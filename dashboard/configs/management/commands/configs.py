"""Configs as code from a terminal:

    python manage.py configs export [--team T] [--domain D …] [--format yaml|json] [-o FILE]
    python manage.py configs plan FILE --as USER
    python manage.py configs apply FILE --as USER --yes

`plan` shows what the document would change (a Describe per config) and changes nothing;
`apply` plans, then applies the changes one by one with a progress line, each through the same
save as the edit form (conflicts and Live API errors are reported per domain, and never stop
the others). Keys may come from `{env: NAME}` and `{file: PATH}` here. Exit status: 0 when
everything planned was applied (or nothing needed to be), 1 when something was refused,
conflicted or failed, 2 when the document cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dashboard.configs.document import DocumentError, dump, export_document, read
from dashboard.configs.models import ConfigChange, ConfigRun
from dashboard.configs.selectors import change_lines
from dashboard.configs.services import run_apply, run_create, run_plan, run_start


class Command(BaseCommand):
    help = "Export, plan and apply every domain's callback configs as one YAML/JSON document."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="print the configs document")
        export.add_argument("--team", action="append", default=[])
        export.add_argument("--domain", action="append", default=[])
        export.add_argument("--format", choices=("yaml", "json"), default="yaml")
        export.add_argument("-o", "--output")
        for name in ("plan", "apply"):
            one = sub.add_parser(name)
            one.add_argument("file", help="the document ('-' reads standard input)")
            one.add_argument("--as", dest="username", required=True, help="whose change it is")
            if name == "apply":
                one.add_argument("--yes", action="store_true", help="apply without asking")

    def handle(self, *args, action, **options):
        if action == "export":
            return self._export(**options)
        return self._plan(apply=action == "apply", **options)

    def _export(self, *, team, domain, format, output, **_):
        text = dump(export_document(teams=team, names=domain), format)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")

    def _plan(self, *, apply, file, username, yes=False, **_):
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {username!r}")
        try:
            raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            wanted = read(raw)
        except DocumentError as problem:
            self.stderr.write(f"the document cannot be read: {problem}")
            sys.exit(2)
        run = run_create(actor=actor, wanted=wanted, source=ConfigRun.Source.COMMAND, title=file)
        run = run_plan(run.pk, references=True)
        self._print_plan(run)
        if not apply:
            return
        if not yes:
            raise CommandError("add --yes to apply this plan")
        if run_start(run):
            run = run_apply(run.pk, progress=self._progress)
            self.stderr.write("")
        self._print_outcomes(run)
        bad = run.changes.exclude(action=ConfigChange.Action.UNCHANGED).exclude(
            outcome=ConfigChange.Outcome.APPLIED
        )
        if bad.exists():
            sys.exit(1)

    def _print_plan(self, run: ConfigRun) -> None:
        counts: dict[str, int] = {}
        for change in run.changes.all():
            counts[change.action] = counts.get(change.action, 0) + 1
            if change.action == ConfigChange.Action.UNCHANGED:
                continue
            self.stdout.write(f"{change.action:9} {change.domain_name} {change.kind}")
            for line in change_lines(change):
                self.stdout.write(f"          {line}")
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "nothing"
        self.stdout.write(f"plan (run {run.pk}): {summary}")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stderr.flush()

    def _print_outcomes(self, run: ConfigRun) -> None:
        for change in run.changes.filter(action__in=ConfigChange.CHANGING):
            detail = ""
            if change.outcome != ConfigChange.Outcome.APPLIED:
                detail = f" {change.error_code}: {change.error_message}"
                if change.request_id:
                    detail += f" (RequestId {change.request_id})"
            self.stdout.write(f"{change.outcome:8} {change.domain_name} {change.kind}{detail}")
        self.stdout.write(f"run {run.pk}: {run.state}")
