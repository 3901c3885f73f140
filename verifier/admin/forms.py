"""Admin forms: they parse what a person typed; the services decide what may happen with it."""

from collections.abc import Callable
from typing import Any

from django import forms

from claims.models import Claimant, Evidence, Tag
from core.text_bounds import EXPLANATION_MAX, NOTE_MAX, QUOTE_MAX, SUMMARY_MAX
from sources.fetcher import UrlRefused, check_url
from sources.services import fetch_limits
from verifier.models import Rating
from verifier.services.claims import claimant_change_refusal, tag_change_refusal


def _refuse_public_record_change(
    form: forms.ModelForm, refusal_of: Callable[[Any], str | None]
) -> None:
    """The service's refusal as a form error when the form changes a stored record that a published
    claim shows (the service refuses the same change on save)."""
    cleaned = form.cleaned_data
    # Before _post_clean the instance still holds the stored values.
    stored = form.instance
    fields = form._meta.fields or ()
    changed = any(name in cleaned and cleaned[name] != getattr(stored, name) for name in fields)
    if stored.pk is not None and changed:
        refusal = refusal_of(stored)
        if refusal is not None:
            raise forms.ValidationError(refusal)


class TypedTextField(forms.CharField):
    """Text typed in a textarea: browsers post its line breaks as CRLF, stored and compared as LF
    (else an untouched multi-line field would count as changed)."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class ClaimantForm(forms.ModelForm):
    class Meta:
        model = Claimant
        fields = ("name", "url")

    def clean_name(self) -> str:
        # Stored as claimant_get_or_create stores it; the model's constraint refuses another case.
        return " ".join(self.cleaned_data["name"].split())

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        _refuse_public_record_change(self, claimant_change_refusal)
        return cleaned


class TagChangeForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ("name", "slug")

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        _refuse_public_record_change(self, tag_change_refusal)
        return cleaned


_QUOTE_WIDGETS = {
    "quote": forms.Textarea(attrs={"rows": 3, "cols": 40}),
    "note": forms.Textarea(attrs={"rows": 3, "cols": 30}),
}


class EvidenceAddForm(forms.ModelForm):
    """A new piece of evidence: the source is named by its URL, found or created by the service."""

    url = forms.CharField(
        label="Source URL",
        max_length=2048,
        widget=forms.URLInput(attrs={"size": 40, "placeholder": "https://"}),
    )

    class Meta:
        model = Evidence
        fields = ("url", "quote", "stance", "note")
        # The admin's tabular inline takes column headings from here.
        labels = {"url": "Source URL"}
        widgets = _QUOTE_WIDGETS

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        # The same network-free check the service runs, here so a refused URL is a field error
        # on the form the fact-checker is filling in rather than a failed save.
        try:
            check_url(url, fetch_limits())
        except UrlRefused as refused:
            raise forms.ValidationError(refused.reason) from None
        return url


class EvidenceEditForm(forms.ModelForm):
    """Recorded evidence: what can change before publication (evidence_update saves it)."""

    # The service checks the same bounds; here they are errors on the row being typed.
    # Narrower than the add row's: the row also holds the source, its badges and who added it.
    quote = TypedTextField(max_length=QUOTE_MAX, widget=forms.Textarea(attrs={"rows": 3, "cols": 34}))
    note = TypedTextField(
        max_length=NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 20})
    )

    class Meta:
        model = Evidence
        fields = ("stance", "quote", "note")


class VerdictDraftForm(forms.Form):
    """The draft verdict; a draft may be incomplete, submitting checks that it is not."""

    rating = forms.ModelChoiceField(queryset=Rating.objects.all(), required=False)
    summary = TypedTextField(
        required=False,
        max_length=SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="One or two sentences: what the verdict says.",
    )
    explanation = TypedTextField(
        required=False,
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text="How the evidence supports the rating.",
    )
