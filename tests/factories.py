"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth.models import Group, User

from claims.models import Claim, Claimant, Evidence
from core.roles import FACT_CHECKERS, REVIEWERS
from sources.models import Source
from verifier.models import Rating

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password(PASSWORD)
    is_staff = True

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))


class FactCheckerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"factchecker{n}")
    groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: create
        and user.groups.add(Group.objects.get(name=FACT_CHECKERS))
    )


class ReviewerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"reviewer{n}")
    groups = factory.PostGeneration(
        lambda user, create, extracted, **kw: create
        and user.groups.add(Group.objects.get(name=REVIEWERS))
    )


class ClaimantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claimant
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Claimant {n}")


class ClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claim

    text = factory.Sequence(lambda n: f"Claim number {n} about drones")
    claimant = factory.SubFactory(ClaimantFactory)
    created_by = factory.SubFactory(FactCheckerFactory)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("url",)

    url = factory.Sequence(lambda n: f"https://news{n}.example.org/article")


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evidence

    claim = factory.SubFactory(ClaimFactory)
    source = factory.SubFactory(SourceFactory)
    quote = "Iran says the drones were exported before the invasion"
    stance = Evidence.Stance.SUPPORTS
    author = factory.SelfAttribute("claim.created_by")


def rating(slug: str = "false") -> Rating:
    return Rating.objects.get(slug=slug)
