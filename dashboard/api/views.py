"""Personal access tokens (on one's account) and the API's docs page, read from its schema."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dashboard.access import domains_editable_by
from dashboard.accounts.security import client_ip
from dashboard.forms import one_line
from dashboard.posting import post_only

from .api import api
from .models import AccessToken
from .tokens import LIFETIMES, MadeAlready, newest_token_id, token_create, token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("What it is for"),
        max_length=100,
        help_text=gettext_lazy("For example “nightly report script”."),
        validators=[one_line],  # it is shown in lists and the audit log as one line
    )
    days = forms.TypedChoiceField(
        label=gettext_lazy("Expires after"),
        coerce=int,
        initial=30,
        choices=lambda: [(d, _("%(n)s days") % {"n": d}) for d in LIFETIMES],
    )

    may_change_configs = forms.BooleanField(
        label=gettext_lazy("May plan and apply config changes"),
        required=False,
        help_text=gettext_lazy(
            "Configs as code from a script: the domains you edit, as you. Without it, the token "
            "only reads."
        ),
    )

    # the person's newest token when the form was opened (tokens.newest_token_id)
    after = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("after", newest_token_id(user))
        super().__init__(*args, **kwargs)
        if not domains_editable_by(user).exists():
            del self.fields["may_change_configs"]  # nothing it could change

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise forms.ValidationError(_("A name is one line of text."))
        return name


@require_http_methods(["GET", "POST"])
def tokens(request):
    """One's own tokens: make one (shown once), see when each was last used, revoke."""
    form = TokenForm(request.POST if request.method == "POST" else None, user=request.user)
    secret = ""
    made = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                days=form.cleaned_data["days"],
                may_change_configs=form.cleaned_data.get("may_change_configs", False),
                client_ip=client_ip(request),
                # a form of before this field (a page open across a release) checks nothing
                after=form.cleaned_data["after"],
            )
        except MadeAlready as already:
            # sent again (the page that showed the secret reloaded, another tab): one token.
            # The form as typed, now knowing that one: pressed again, it makes another.
            made, status = already.token, 409
            data = request.POST.copy()
            data["after"] = str(newest_token_id(request.user))
            form = TokenForm(data, user=request.user)
        else:
            form = TokenForm(user=request.user)
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "secret": secret,
        "made": made,
        "tokens": AccessToken.objects.filter(user=request.user),
    }
    return render(request, "api/tokens.html", context, status=status)


@post_only("api_tokens")
def token_revoke_view(request, token_id: int):
    token = get_object_or_404(AccessToken, pk=token_id, user=request.user)
    if token_revoke(token=token, actor=request.user, client_ip=client_ip(request)):
        messages.success(request, _("Revoked %(name)s.") % {"name": token.name})
    return redirect("api_tokens")


def docs(request):
    """The endpoints, their parameters and answers, from the OpenAPI schema."""
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    endpoints = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": p.get("schema", {}).get("type", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": list(operation.get("requestBody", {}).get("content", {})),
                    "response": _response_name(operation),
                }
            )
    shapes = [
        {
            "name": name,
            "fields": [
                (field, _type_of(spec), field in body.get("required", []))
                for field, spec in body.get("properties", {}).items()
            ],
        }
        for name, body in schema["components"].get("schemas", {}).items()
    ]
    context = {"endpoints": endpoints, "info": schema["info"], "shapes": shapes}
    return render(request, "api/docs.html", context)


def _type_of(spec: dict) -> str:
    """A field's type in a word or two: `string`, `list of RecordOut`, `integer or null`."""
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " or ".join(_type_of(option) for option in spec["anyOf"])
    kind = spec.get("type", "")
    if kind == "array":
        return f"list of {_type_of(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type_of(spec['additionalProperties'])}"
    if spec.get("format") == "date-time":
        return "date-time"
    return kind or "any"


def _response_name(operation: dict) -> str:
    responses = operation.get("responses", {})
    success = next((r for code, r in responses.items() if str(code).startswith("2")), {})
    content = success.get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    return f"list of {name}" if schema.get("type") == "array" and name else name
