"""Notifications of the desk (SPEC §8): who hears of which workflow event, in the admin and by mail.

An event writes one `Notification` row per recipient in the transaction of the event itself, so
none is lost and none is sent for a transition that rolled back. Once that transaction commits, one
mail task per row is queued (queue `default`); the task sends a plain-text and HTML mail linking to
the claim's admin page, retries what the mail server refused for now (4xx) or could not take
(connection failures) with backoff and jitter, and claims each attempt with a conditional UPDATE,
so a redelivered task never mails twice. A beat sweep queues again what a broker outage or a dead
worker left waiting. A person who turned e-mail off still sees the notification in the admin.

Who hears of what:
- submitted for review: the reviewers (given the review permission through the Reviewers group or
  directly), except the verdict's author, whom the four-eyes rule keeps from approving it;
- changes requested, approved: the verdict's author and the claim's assignee;
- a cited source changed or disappeared: the published verdict's author, the claim's assignee and
  the reviewer who approved it.
Nobody is told of their own action, and inactive accounts hear of nothing.
"""

import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from claims.models import Claim
from core.queueing import task_queue
from core.roles import REVIEWER_PERMISSION
from verifier.models import Notification, NotificationPreference, Verdict
from verifier.selectors.notifications import notification_email_enabled

logger = logging.getLogger(__name__)

# The name verifier.tasks registers its mail task under (see core.queueing.task_queue).
MAIL_TASK = "verifier.tasks.mail_notification"
_DUE = (Notification.Mail.PENDING, Notification.Mail.RETRYING)
_AUTHOR_AND_ASSIGNEE = (Notification.Event.CHANGES_REQUESTED, Notification.Event.APPROVED)


def notifications_send(
    *, event: str, claim: Claim, actor: User | None, verdict: Verdict | None = None, comment: str = ""
) -> list[Notification]:
    """Tells everyone concerned of `event` on `claim` (see the module docstring): a notification
    each, mailed once the current transaction commits unless they turned e-mail off.

    `verdict` is the verdict the event concerns (by default the latest version, or for a source
    flag the latest approved one); `comment` is the reviewer's comment, the submitter's note or
    the flag's reason;
    `actor` is None for what the system did (a re-check).
    """
    verdict = verdict or _verdict_concerned(event, claim)
    recipients = notification_recipients(event=event, claim=claim, verdict=verdict, actor=actor)
    if not recipients:
        return []
    text = _notification_text(event=event, claim=claim, verdict=verdict, actor=actor, comment=comment)
    opted_out = set(
        NotificationPreference.objects.filter(user__in=recipients, email=False).values_list(
            "user_id", flat=True
        )
    )
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=recipient,
            event=event,
            claim=claim,
            actor=actor,
            text=text,
            mail=(
                Notification.Mail.SKIPPED
                if recipient.pk in opted_out or not recipient.email
                else Notification.Mail.PENDING
            ),
        )
        for recipient in recipients
    )
    for notification in notifications:
        if notification.mail == Notification.Mail.PENDING:
            transaction.on_commit(partial(enqueue_notification_mail, notification.pk))
    return notifications


def _verdict_concerned(event: str, claim: Claim) -> Verdict | None:
    verdicts = claim.verdicts.order_by("-version")
    if event == Notification.Event.SOURCE_FLAGGED:
        verdicts = verdicts.filter(state=Verdict.State.APPROVED)
    return verdicts.select_related("author", "reviewer").first()


def notification_recipients(
    *, event: str, claim: Claim, verdict: Verdict | None, actor: User | None
) -> list[User]:
    """Who is told of `event` on `claim`, in a stable order, without the actor."""
    candidates: list[User | None]
    if event == Notification.Event.SUBMITTED:
        reviewers = _reviewers()
        if verdict is not None:
            reviewers = reviewers.exclude(pk=verdict.author_id)
        candidates = list(reviewers)
    elif event in _AUTHOR_AND_ASSIGNEE:
        candidates = [verdict.author if verdict else None, claim.assignee]
    elif event == Notification.Event.SOURCE_FLAGGED:
        candidates = [
            verdict.author if verdict else None,
            claim.assignee,
            verdict.reviewer if verdict else None,
        ]
    else:
        raise ValueError(f"Unknown notification event {event!r}")
    recipients: dict[int, User] = {}
    for person in candidates:
        if person is not None and person.is_active and (actor is None or person.pk != actor.pk):
            recipients.setdefault(person.pk, person)
    return list(recipients.values())


def _reviewers() -> QuerySet[User]:
    # Superusers hold every permission, but only those given the reviewer's job hear of each
    # submission.
    app_label, codename = REVIEWER_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("pk")
    )


def _person(user: User | None) -> str:
    if user is None:
        return "Verifier"
    return user.get_full_name() or user.get_username()


def _notification_text(
    *, event: str, claim: Claim, verdict: Verdict | None, actor: User | None, comment: str
) -> str:
    quoted = f"“{Truncator(claim.text).chars(120)}”"
    version = f" (version {verdict.version})" if verdict is not None and verdict.version > 1 else ""
    comment = comment.strip()
    if event == Notification.Event.SUBMITTED:
        note = f" Their note: {comment}" if comment else ""
        return f"{_person(actor)} submitted the verdict{version} on {quoted} for review.{note}"
    if event == Notification.Event.CHANGES_REQUESTED:
        return f"{_person(actor)} requested changes to the verdict{version} on {quoted}: {comment}"
    if event == Notification.Event.APPROVED:
        return f"{_person(actor)} approved the verdict{version} on {quoted}; it is published."
    detail = f" {comment}" if comment else ""
    return f"A source cited by the published fact-check {quoted} changed or disappeared.{detail}"


def enqueue_notification_mail(notification_id: int) -> bool:
    """Sends the mail task; with the broker down the mail waits for the stale sweep."""
    return task_queue(name=MAIL_TASK, args=(notification_id,), swept_by="the stale-mail sweep")


def notification_mail_send(*, notification_id: int, final_attempt: bool) -> str | None:
    """Mails the notification once and records the result (a Notification.Mail value); None if it
    is not due (already sent, given up, or being sent by another worker)."""
    due = Notification.objects.select_related("recipient", "claim", "actor").filter(mail__in=_DUE)
    notification = due.filter(pk=notification_id).first()
    if notification is None:
        return None
    # Of two workers holding the same notification (a redelivered task, the sweep), one mails it.
    claimed = Notification.objects.filter(
        pk=notification.pk, mail__in=_DUE, mail_attempts=notification.mail_attempts
    ).update(mail_attempts=F("mail_attempts") + 1, mail_last_attempt_at=timezone.now())
    if not claimed:
        return None
    recipient = notification.recipient
    if not recipient.email or not notification_email_enabled(recipient):
        return _record_mail(notification, Notification.Mail.SKIPPED)
    # No transaction is open: the mail server may take up to EMAIL_TIMEOUT seconds per reply.
    try:
        _mail_message(notification).send()
    except (smtplib.SMTPException, OSError) as error:
        if _smtp_failure_is_transient(error) and not final_attempt:
            status = Notification.Mail.RETRYING
        else:
            status = Notification.Mail.FAILED
        logger.warning("Mail of notification %s not sent (%s): %s", notification.pk, status, error)
        return _record_mail(notification, status, error=f"{type(error).__name__}: {error}")
    return _record_mail(notification, Notification.Mail.SENT)


def _smtp_failure_is_transient(error: Exception) -> bool:
    # A 4xx reply means "not now"; 5xx means "never" for this message.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    # Connection refused, reset or timed out, the server hung up, TLS failed.
    return True


def _record_mail(notification: Notification, status: str, *, error: str = "") -> str:
    Notification.objects.filter(pk=notification.pk, mail__in=_DUE).update(
        mail=status,
        mail_error=error[:2000],
        mailed_at=timezone.now() if status == Notification.Mail.SENT else None,
    )
    return status


def _mail_message(notification: Notification) -> EmailMultiAlternatives:
    base = settings.PUBLIC_BASE_URL
    context = {
        "notification": notification,
        "claim_url": base + reverse("admin:claims_claim_change", args=[notification.claim_id]),
        "notifications_url": base + reverse("admin:verifier_notification_changelist"),
        "org_name": settings.VERIFIER_ORG_NAME,
    }
    subject = f"[{settings.VERIFIER_ORG_NAME}] {notification.get_event_display()}: " + Truncator(
        notification.claim.text
    ).chars(60)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("verifier/notifications/mail.txt", context),
        to=[notification.recipient.email],
    )
    message.attach_alternative(render_to_string("verifier/notifications/mail.html", context), "text/html")
    return message


def notification_mails_requeue_stale() -> int:
    """Queues again the mails a broker outage or a dead worker left waiting."""
    cutoff = timezone.now() - timedelta(minutes=settings.EMAIL_STALE_MINUTES)
    stale = Notification.objects.filter(mail__in=_DUE).filter(
        Q(mail_last_attempt_at__lt=cutoff) | Q(mail_last_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    return sum(enqueue_notification_mail(pk) for pk in stale.values_list("pk", flat=True))


def notification_email_set(*, user: User, enabled: bool) -> NotificationPreference:
    """Turns notification e-mail on or off for `user`; notifications in the admin stay."""
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email": enabled})
    return preference


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Marks `user`'s unread notifications read (only those in `ids`, if given); how many were."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
