"""A Django deployment as the e2e test of the Django import needs it.

Usage: deployment.py OUT.json sqlite PATH
       deployment.py OUT.json postgres URL SCHEMA

Migrates a Django 5.2 project (auth, DRF's authtoken, knox,
simplejwt's blacklist) into the database, then makes users (PBKDF2 with a
non-default iteration count, Argon2, an unusable password, an inactive
user, a superuser), knox tokens (one expired), DRF tokens and simplejwt
pairs (one refresh token blacklisted), and writes to OUT.json what the test
checks: each user's password, flags and dates, and each token.
"""

import json
import secrets
import sys
from datetime import timedelta, timezone as tz
from urllib.parse import urlparse

import django
from django.conf import settings

out, kind = sys.argv[1], sys.argv[2]
if kind == "sqlite":
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[3]}
elif kind == "postgres":
    url, schema = urlparse(sys.argv[3]), sys.argv[4]
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.hostname or "",
        "PORT": str(url.port or 5432),
        "OPTIONS": {"options": f"-c search_path={schema}"},
    }
else:
    sys.exit(f"unknown database kind {kind!r}")

SECRET_KEY = "django-insecure-e2e-" + secrets.token_urlsafe(32)
settings.configure(
    SECRET_KEY=SECRET_KEY,
    USE_TZ=True,
    TIME_ZONE="Europe/Paris",
    DATABASES={"default": database},
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework.authtoken",
        "knox",
        "rest_framework_simplejwt.token_blacklist",
    ],
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ],
    SIMPLE_JWT={
        "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    },
    REST_KNOX={"TOKEN_TTL": timedelta(hours=10)},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)


class FewerRounds(PBKDF2PasswordHasher):
    """PBKDF2 with fewer rounds than Django's default (1,000,000)."""

    iterations = 120_000


def password():
    return "pw-" + secrets.token_urlsafe(12)


now = timezone.now()
made = []


def user(username, hasher, **fields):
    pw = password()
    u = User(username=username, email=f"{username}@example.com", **fields)
    if hasher is None:
        u.set_unusable_password()
        pw = None
    else:
        u.password = make_password(pw, hasher=hasher)
    u.save()
    made.append((u, pw))
    return u


alice = user(
    "alice",
    FewerRounds(),
    first_name="Alice",
    last_name="Liddell",
    last_login=now - timedelta(days=3),
)
bob = user("bob", "argon2", date_joined=now - timedelta(days=400))
user("carol", None)
user("dave", FewerRounds(), is_active=False)
root = user("root", "argon2", is_staff=True, is_superuser=True)

knox = [
    {"user": "alice", "token": AuthToken.objects.create(alice)[1], "live": True},
    {"user": "bob", "token": AuthToken.objects.create(bob, None)[1], "live": True},
    {
        "user": "alice",
        "token": AuthToken.objects.create(alice, timedelta(seconds=-60))[1],
        "live": False,
    },
]
drf = [
    {"user": u.username, "token": Token.objects.create(user=u).key, "live": True}
    for u in (alice, root)
]
jwt = []
for u, blacklisted in ((alice, False), (bob, True), (root, False)):
    refresh = RefreshToken.for_user(u)
    jwt.append(
        {
            "user": u.username,
            "access": str(refresh.access_token),
            "refresh": str(refresh),
            "blacklisted": blacklisted,
        }
    )
    if blacklisted:
        refresh.blacklist()


def when(at):
    return None if at is None else at.astimezone(tz.utc).isoformat()


users = []
for u, pw in made:
    u.refresh_from_db()
    users.append(
        {
            "id": u.pk,
            "username": u.username,
            "email": u.email,
            "password": pw,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "is_active": u.is_active,
            "is_staff": u.is_staff,
            "is_superuser": u.is_superuser,
            "date_joined": when(u.date_joined),
            "last_login": when(u.last_login),
            "hash": u.password.split("$", 1)[0],
        }
    )

with open(out, "w") as f:
    json.dump(
        {"secret_key": SECRET_KEY, "users": users, "knox": knox, "drf": drf, "jwt": jwt},
        f,
        indent=1,
    )
