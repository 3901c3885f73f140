"""The demo data set: the seed article's claims, taken through the real workflow services.

The article (SPEC §1, seed-article.txt) is an October 2022 news report on Iranian drones supplied
to Russia. Every URL below other than the Wikipedia pages is on the reserved `.example` top-level
domain: it stands in for the article or for a source the article names, and can never resolve,
so a worker records an honest dns_error outcome for it instead of fetching some stranger's page.
"""

import datetime
import secrets
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, User
from django.db import transaction

from claims.models import Claim, Claimant
from claims.services import claimant_get_or_create
from core.roles import FACT_CHECKERS, REVIEWERS
from verifier.models import Rating
from verifier.services.claims import claim_create
from verifier.services.evidence import evidence_add
from verifier.services.verdicts import claim_submit, verdict_approve, verdict_save_draft

ARTICLE_URL = "https://news.example/2022/10/russia-acquires-hundreds-of-iranian-drones"
WHITE_HOUSE_BRIEFING_URL = "https://white-house-briefings.example/2022/10/20/john-kirby-iran-russia-drones"
REUTERS_REPORT_URL = "https://wire.example/reuters/2022/10/white-house-iranian-drones-caspian-sea"
TREASURY_SANCTIONS_URL = "https://treasury-notices.example/2022/sanctions-iran-drone-transfers-russia"
UN_RESOLUTION_URL = "https://en.wikipedia.org/wiki/United_Nations_Security_Council_Resolution_2231"

FACT_CHECKER_USERNAME = "factchecker"
REVIEWER_USERNAME = "reviewer"


AS_REPORTED = "Quoted as the seed article reports it; the URL is a stand-in for {what}."


@dataclass(frozen=True)
class DemoEvidence:
    url: str
    quote: str
    stance: str
    note: str = ""


@dataclass(frozen=True)
class DemoVerdict:
    rating: str
    summary: str
    explanation: str
    # "draft", "in_review" or "published": how far the claim goes through the workflow.
    stage: str


@dataclass(frozen=True)
class DemoClaim:
    text: str
    claimant: str
    claimant_url: str
    claim_date: datetime.date
    tags: tuple[str, ...]
    evidence: tuple[DemoEvidence, ...]
    verdict: DemoVerdict | None = None
    claimant_kind: str = Claimant.Kind.ORGANIZATION


KIRBY = ("John Kirby", "https://en.wikipedia.org/wiki/John_Kirby_(admiral)")
BRIEFING_DAY = datetime.date(2022, 10, 20)

CLAIMS: tuple[DemoClaim, ...] = (
    DemoClaim(
        text="Iran says the drones were exported before the invasion.",
        claimant="Iran",
        claimant_url="https://en.wikipedia.org/wiki/Iran",
        claim_date=BRIEFING_DAY,
        tags=("drones", "Iran", "Russia", "Ukraine"),
        evidence=(
            DemoEvidence(
                url=ARTICLE_URL,
                quote="Iran has also admitted to sending drones to Russia, but Iran says that these "
                "drones were exported before the attack on Ukraine.",
                stance="supports",
                note="The article records Iran's position; it does not say when the drones arrived.",
            ),
            DemoEvidence(
                url=WHITE_HOUSE_BRIEFING_URL,
                quote="Over the past few weeks, Russia has used Iranian drones to attack Kiev and "
                "terrorise the Ukrainian people",
                stance="context",
                note=AS_REPORTED.format(what="the White House briefing of 20 October 2022"),
            ),
            DemoEvidence(
                url=TREASURY_SANCTIONS_URL,
                quote="the US also imposed sanctions on Iranian officials for supplying drones to Russia",
                stance="context",
                note=AS_REPORTED.format(what="the US Treasury sanctions notice"),
            ),
        ),
        verdict=DemoVerdict(
            rating="missing-context",
            summary="Iran admits sending drones to Russia and says they left before the invasion, "
            "but it has shown nothing about when they were delivered.",
            explanation="The White House says Russia has acquired hundreds of Iranian drones and has "
            "used them against Kyiv in recent weeks, and the United States has sanctioned Iranian "
            "officials for supplying them. Iran's statement about the export date is its own "
            "account; without delivery records it leaves out what readers need to judge it.",
            stage="published",
        ),
    ),
    DemoClaim(
        text="Russia has acquired hundreds of drones from Iran.",
        claimant="White House",
        claimant_url="https://en.wikipedia.org/wiki/White_House",
        claim_date=BRIEFING_DAY,
        tags=("drones", "Iran", "Russia"),
        evidence=(
            DemoEvidence(
                url=REUTERS_REPORT_URL,
                quote="the White House said the drones were manufactured in Iran, transported via the "
                "Caspian Sea, and used by Russian forces against Ukraine",
                stance="supports",
                note=AS_REPORTED.format(what="the Reuters report the article cites"),
            ),
            DemoEvidence(
                url=ARTICLE_URL,
                quote="Moscow has acquired hundreds of drones from Tehran that have also been used to "
                "attack Ukraine",
                stance="context",
            ),
        ),
        verdict=DemoVerdict(
            rating="unverifiable",
            summary="The number rests on US intelligence that has not been published.",
            explanation="The White House gives no source for the figure beyond its own information; "
            "the route it describes (manufactured in Iran, shipped across the Caspian Sea) has not "
            "been independently documented in the material cited.",
            stage="in_review",
        ),
    ),
    DemoClaim(
        text="A drone plant in Russia's Alabuga Special Economic Zone will be fully operational "
        "early next year.",
        claimant=KIRBY[0],
        claimant_url=KIRBY[1],
        claimant_kind=Claimant.Kind.PERSON,
        claim_date=BRIEFING_DAY,
        tags=("drones", "Russia", "manufacturing"),
        evidence=(
            DemoEvidence(
                url=WHITE_HOUSE_BRIEFING_URL,
                quote="Russia was acquiring materials from Iran to build a drone manufacturing plant "
                "that would be fully operational early next year",
                stance="context",
                note=AS_REPORTED.format(what="the White House briefing of 20 October 2022"),
            ),
            DemoEvidence(
                url=ARTICLE_URL,
                quote="the plant, which will be established in Russia\u2019s Alaboga Special Economic Zone",
                stance="context",
                note="The article spells the zone Alaboga; it is usually written Alabuga.",
            ),
        ),
        verdict=DemoVerdict(
            rating="unverifiable",
            summary="A forecast about a plant still being built cannot be checked yet.",
            explanation="Re-check once the plant's status can be observed.",
            stage="draft",
        ),
    ),
    DemoClaim(
        text="Iranian drones have not been used to attack Ukraine.",
        claimant="Russia",
        claimant_url="https://en.wikipedia.org/wiki/Russia",
        claim_date=BRIEFING_DAY,
        tags=("drones", "Russia", "Ukraine"),
        evidence=(
            DemoEvidence(
                url=ARTICLE_URL,
                quote="Russia has also been rejecting the allegations that Iranian drones have been "
                "used to attack Ukraine",
                stance="context",
            ),
            DemoEvidence(
                url=WHITE_HOUSE_BRIEFING_URL,
                quote="Over the past few weeks, Russia has used Iranian drones to attack Kiev",
                stance="refutes",
                note=AS_REPORTED.format(what="the White House briefing of 20 October 2022"),
            ),
        ),
    ),
    DemoClaim(
        text="The supply of Iranian-made drones to Russia violates a 2015 UN Security Council "
        "resolution.",
        claimant="Britain, France, Germany, the United States and Ukraine",
        claimant_url="",
        claim_date=BRIEFING_DAY,
        tags=("drones", "United Nations", "sanctions"),
        evidence=(
            DemoEvidence(
                url=ARTICLE_URL,
                quote="Britain, France, Germany, the United States, and Ukraine have also said that "
                "the supply of Iranian-made drones to Russia is a violation of a 2015 Security "
                "Council resolution.",
                stance="context",
            ),
            DemoEvidence(
                url=UN_RESOLUTION_URL,
                quote="endorsing the Joint Comprehensive Plan of Action",
                stance="context",
                note="Resolution 2231 (2015) is the resolution meant; its annex restricts transfers "
                "of certain items from Iran.",
            ),
        ),
    ),
    DemoClaim(
        text="Tehran has received extraordinary defence support from Moscow in missiles, "
        "electronics and air defence.",
        claimant=KIRBY[0],
        claimant_url=KIRBY[1],
        claimant_kind=Claimant.Kind.PERSON,
        claim_date=BRIEFING_DAY,
        tags=("Iran", "Russia", "defence cooperation"),
        evidence=(
            DemoEvidence(
                url=ARTICLE_URL,
                quote="Tehran has received extraordinary defence support from Moscow in missile, "
                "electronics, and air defence",
                stance="context",
            ),
        ),
    ),
    DemoClaim(
        text="Russia is working with Iran so that Iranian drones can be manufactured in Russia.",
        claimant=KIRBY[0],
        claimant_url=KIRBY[1],
        claimant_kind=Claimant.Kind.PERSON,
        claim_date=BRIEFING_DAY,
        tags=("drones", "Russia", "manufacturing"),
        evidence=(
            DemoEvidence(
                url=WHITE_HOUSE_BRIEFING_URL,
                quote="We are also concerned that Russia is working with Iran so that Iranian drones "
                "can be manufactured in Russia",
                stance="context",
                note=AS_REPORTED.format(what="the White House briefing of 20 October 2022"),
            ),
        ),
    ),
)


@dataclass
class DemoUser:
    username: str
    group: str
    password: str


@dataclass
class SeedReport:
    users: list[DemoUser] = field(default_factory=list)
    created: list[Claim] = field(default_factory=list)
    existing: int = 0


def demo_user_reset(*, username: str, group_name: str) -> DemoUser:
    """The demo user, created if missing, in its group, with a new random password."""
    user, _ = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@demo.example"}
    )
    user.is_staff = True
    user.is_active = True
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=group_name))
    return DemoUser(username=username, group=group_name, password=password)


def _seed_claim(spec: DemoClaim, *, fact_checker: User, reviewer: User) -> Claim:
    # The claimant is created here first so that it gets its sameAs URL.
    claimant_get_or_create(name=spec.claimant, url=spec.claimant_url, kind=spec.claimant_kind)
    claim = claim_create(
        actor=fact_checker,
        text=spec.text,
        claimant_name=spec.claimant,
        claim_date=spec.claim_date,
        appearance_url=ARTICLE_URL,
        tags=spec.tags,
        assignee=fact_checker,
    )
    for item in spec.evidence:
        evidence_add(
            actor=fact_checker, claim=claim, url=item.url, quote=item.quote, stance=item.stance,
            note=item.note,
        )
    verdict = spec.verdict
    if verdict is not None:
        verdict_save_draft(
            actor=fact_checker,
            claim=claim,
            rating=Rating.objects.get(slug=verdict.rating),
            summary=verdict.summary,
            explanation=verdict.explanation,
        )
        if verdict.stage in ("in_review", "published"):
            claim_submit(actor=fact_checker, claim=claim)
        if verdict.stage == "published":
            verdict_approve(
                actor=reviewer, claim=claim, comment="Demo data: approved by the demo reviewer."
            )
    claim.refresh_from_db()
    return claim


def demo_seed() -> SeedReport:
    """Loads the demo users and every seed claim not yet present (matched by text); reruns add nothing."""
    report = SeedReport()
    with transaction.atomic():
        report.users.append(demo_user_reset(username=FACT_CHECKER_USERNAME, group_name=FACT_CHECKERS))
        report.users.append(demo_user_reset(username=REVIEWER_USERNAME, group_name=REVIEWERS))
    fact_checker = User.objects.get(username=FACT_CHECKER_USERNAME)
    reviewer = User.objects.get(username=REVIEWER_USERNAME)
    for spec in CLAIMS:
        # One transaction per claim: a claim is seeded whole or not at all, and its fetches are
        # queued only once it is committed.
        with transaction.atomic():
            if Claim.objects.filter(text=spec.text).exists():
                report.existing += 1
                continue
            report.created.append(_seed_claim(spec, fact_checker=fact_checker, reviewer=reviewer))
    return report
