"""What to check when Salesforce refuses a login: what its OAuth error means, or the flow's usual causes.

Salesforce's token endpoint refuses a login with HTTP 400 ``{"error", "error_description"}``. The
``error`` codes are few (``invalid_grant``, ``invalid_client``, ``invalid_client_id``,
``unsupported_grant_type``, ``inactive_user``, ...) and ``invalid_grant`` stands for many different
mistakes; the description tells them apart. Where the description (or a code that is specific by
itself) says what is wrong, the hint says what it means and what to do; otherwise it lists the usual
causes for the flow. The hints are fixed texts: no secret, no value from the connection, reaches them.

Sources: Salesforce Help, "OAuth 2.0 Authorization Errors"
(https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm: JWT
"Audience validation failed", refresh token "expired access/refresh token"); the flows' pages
(remoteaccess_oauth_jwt_flow.htm: pre-authorized users, certificate, audience login/test, assertion
valid 3 minutes; remoteaccess_oauth_client_credentials_flow.htm: My Domain only, a Run As user);
and descriptions real orgs answer, as reported to client libraries (pozil/pub-sub-api-node-client#58:
"request not supported on this domain" when the client credentials flow is sent to test.salesforce.com).
"""

from __future__ import annotations

from dataclasses import dataclass

SANDBOX_OR_PRODUCTION = (
    "https://login.salesforce.com for production, https://test.salesforce.com for a sandbox (whose usernames end "
    "in the sandbox's name), or the org's My Domain URL"
)

#: The usual causes, per flow (``AuthFlow.name``), when Salesforce's answer does not say which it is.
FLOW_CAUSES = {
    "password": (
        "the password must be followed by the user's security_token (set it on the connection; resetting the "
        "password sends a new one) unless the org trusts this network's IP range; the username; the login URL, "
        f"which must be where the user lives: {SANDBOX_OR_PRODUCTION}; and the connected app's client_id and "
        "client_secret"
    ),
    "JWT bearer": (
        "the certificate uploaded to the connected app (Use digital signatures) must be the one private_key "
        'belongs to; the user must be pre-authorized for the app (Permitted Users: "Admin approved users are '
        "pre-authorized\", and the user's profile or a permission set added to the app); the audience must be "
        "https://login.salesforce.com for production or https://test.salesforce.com for a sandbox (set the login "
        "URL, or audience); this machine's clock must be right (an assertion is valid for 3 minutes); client_id "
        "is the connected app's consumer key and the username is the user's"
    ),
    "client credentials": (
        "the login URL must be the org's My Domain (such as https://acme.my.salesforce.com), not "
        "login.salesforce.com or test.salesforce.com; the connected app must enable the client credentials flow "
        "and name a Run As user; and client_id and client_secret must be the app's consumer key and secret"
    ),
    "refresh token": (
        "the refresh token may have been revoked or may have expired (the connected app's refresh token policy, "
        "an admin or the user revoking access): authorize the app again for a new one; the login URL "
        f"({SANDBOX_OR_PRODUCTION}) and client_id/client_secret must be those of the app that issued it"
    ),
}


@dataclass(frozen=True)
class KnownRefusal:
    """An OAuth refusal recognised by its error code and a piece of its description (either may be empty)."""

    error: str
    description: str
    meaning: str

    def matches(self, error: str, description: str) -> bool:
        return (not self.error or self.error == error) and self.description in description


#: Refusals whose answer says what is wrong. The first match wins; descriptions are compared in lower case.
KNOWN_REFUSALS = (
    KnownRefusal(
        "",
        "user hasn't approved this consumer",
        'the user is not pre-authorized for the connected app: in its policies set Permitted Users to "Admin '
        "approved users are pre-authorized\" and add the user's profile or a permission set to the app",
    ),
    KnownRefusal(
        "",
        "not admin approved",
        "the user is not pre-authorized for the app: add the user's profile or a permission set to it",
    ),
    KnownRefusal(
        "",
        "audience",
        "the assertion's audience is not this login server's: use https://login.salesforce.com for production or "
        "https://test.salesforce.com for a sandbox as the login URL (or audience)",
    ),
    KnownRefusal(
        "",
        "expired authorization code",
        "the assertion had already expired when Salesforce read it: this machine's clock is probably wrong (an "
        "assertion is valid for 3 minutes); synchronise it (NTP)",
    ),
    KnownRefusal(
        "",
        "invalid assertion",
        "Salesforce did not accept the signed assertion: the certificate uploaded to the connected app must be the "
        "one private_key belongs to, client_id the app's consumer key and the username the user's",
    ),
    KnownRefusal(
        "",
        "no client credentials user enabled",
        "the connected app has no Run As user for the client credentials flow: set one in its policies",
    ),
    KnownRefusal(
        "",
        "not supported on this domain",
        "the client credentials flow is served only on the org's My Domain: use it (such as "
        "https://acme.my.salesforce.com) as the login URL, not login.salesforce.com or test.salesforce.com",
    ),
    KnownRefusal(
        "",
        "expired access/refresh token",
        "the refresh token was revoked or has expired: authorize the app again for a new one (the connected app's "
        "refresh token policy says how long they last)",
    ),
    KnownRefusal("", "ip restricted", "the user's profile does not allow logins from this IP address at this hour"),
    KnownRefusal("", "user is locked", "the user is locked out: an admin can unlock the user in Setup"),
    KnownRefusal("inactive_user", "", "the user is deactivated or frozen: an admin can reactivate the user"),
    KnownRefusal("inactive_org", "", "the org is inactive (expired trial, locked or deleted org)"),
    KnownRefusal(
        "invalid_client_id",
        "",
        "client_id is not the consumer key of a connected app in the org this login URL reaches (production or "
        "sandbox?); a new connected app can take up to 10 minutes before it is usable",
    ),
    KnownRefusal(
        "invalid_client",
        "",
        "client_id and client_secret are not a connected app's consumer key and secret in the org this login URL "
        "reaches (a secret rotated since, or a production app used against a sandbox)",
    ),
    KnownRefusal(
        "invalid_client_credentials",
        "",
        "client_id and client_secret are not a connected app's consumer key and secret (a secret rotated since?)",
    ),
    KnownRefusal(
        "unsupported_grant_type",
        "",
        "the org or the connected app does not allow this flow: for the password flow, Setup > OAuth and OpenID "
        "Connect Settings > Allow OAuth Username-Password Flows (off by default in newer orgs); for client "
        "credentials, Enable Client Credentials Flow on the connected app",
    ),
)


def login_hint(flow: str, error: str | None = None, description: str = "") -> str:
    """What the refusal means and what to do, or the flow's usual causes (``flow`` is ``AuthFlow.name``)."""
    lowered = description.lower()
    for known in KNOWN_REFUSALS:
        if error and known.matches(error, lowered):
            return f"This means: {known.meaning}."
    causes = FLOW_CAUSES.get(flow, f"the login URL and the settings of the {flow} flow")
    return f"Usual causes: {causes}."
